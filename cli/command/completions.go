package command

import (
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/pflag"

	"github.com/agent-vault/agent-vault/core"
)

func init() {
	register(&command{
		name: "completions", args: "bash|zsh|fish|powershell", minArgs: 1, maxArgs: 1,
		summary: "print a shell completion script",
		details: `Prints a completion script for commands and flags. For example:
  agent-vault completions bash > /etc/bash_completion.d/agent-vault
  agent-vault completions zsh > "${fpath[1]}/_agent-vault"
  agent-vault completions fish > ~/.config/fish/completions/agent-vault.fish
  agent-vault completions powershell >> $PROFILE`,
		run: runCompletions,
	})
}

// completionWords returns the command names and, per command, its flags.
func completionWords() ([]string, map[string][]string) {
	names := []string{"mcp"}
	flags := map[string][]string{}
	for n, c := range commands {
		names = append(names, n)
		fs := pflag.NewFlagSet(n, pflag.ContinueOnError)
		var o opts
		if c.flags != nil {
			c.flags(fs, &o)
		}
		fs.VisitAll(func(f *pflag.Flag) { flags[n] = append(flags[n], "--"+f.Name) })
		flags[n] = append(flags[n], "--help")
	}
	sort.Strings(names)
	return names, flags
}

func runCompletions(c *ctx, args []string) error {
	names, flags := completionWords()
	all := strings.Join(names, " ")
	var b strings.Builder
	switch args[0] {
	case "bash":
		b.WriteString("# bash completion for agent-vault\n_agent_vault() {\n  local cur=${COMP_WORDS[COMP_CWORD]}\n")
		b.WriteString("  if [ \"$COMP_CWORD\" -eq 1 ]; then COMPREPLY=($(compgen -W \"" + all + " --help --version\" -- \"$cur\")); return; fi\n")
		b.WriteString("  case \"${COMP_WORDS[1]}\" in\n")
		for _, n := range names {
			b.WriteString(fmt.Sprintf("    %s) COMPREPLY=($(compgen -W \"%s\" -- \"$cur\")) ;;\n", n, strings.Join(flags[n], " ")))
		}
		b.WriteString("  esac\n  [ ${#COMPREPLY[@]} -eq 0 ] && COMPREPLY=($(compgen -f -- \"$cur\"))\n}\ncomplete -F _agent_vault agent-vault\n")
	case "zsh":
		b.WriteString("#compdef agent-vault\n_agent_vault() {\n  if (( CURRENT == 2 )); then compadd -- " + all + " --help --version; return; fi\n  case $words[2] in\n")
		for _, n := range names {
			b.WriteString(fmt.Sprintf("    %s) compadd -- %s; _files ;;\n", n, strings.Join(flags[n], " ")))
		}
		b.WriteString("  esac\n}\ncompdef _agent_vault agent-vault\n")
	case "fish":
		b.WriteString("# fish completion for agent-vault\n")
		for _, n := range names {
			b.WriteString(fmt.Sprintf("complete -c agent-vault -n __fish_use_subcommand -a %s\n", n))
			for _, f := range flags[n] {
				b.WriteString(fmt.Sprintf("complete -c agent-vault -n '__fish_seen_subcommand_from %s' -l %s\n", n, strings.TrimPrefix(f, "--")))
			}
		}
	case "powershell":
		b.WriteString("# PowerShell completion for agent-vault\nRegister-ArgumentCompleter -Native -CommandName agent-vault -ScriptBlock {\n  param($wordToComplete, $commandAst, $cursorPosition)\n")
		b.WriteString("  $words = $commandAst.CommandElements | ForEach-Object { $_.ToString() }\n  $flags = @{\n")
		for _, n := range names {
			b.WriteString(fmt.Sprintf("    '%s' = @('%s')\n", n, strings.Join(flags[n], "','")))
		}
		b.WriteString("  }\n  if ($words.Count -le 2 -and -not $wordToComplete.StartsWith('-')) { $cands = @('" + strings.Join(names, "','") + "') }\n")
		b.WriteString("  else { $cands = $flags[$words[1]] }\n  $cands | Where-Object { $_ -like \"$wordToComplete*\" } | ForEach-Object { [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_) }\n}\n")
	default:
		return &core.Error{Code: core.CodeInvalidInput, Msg: fmt.Sprintf("unknown shell %q", args[0]), Hint: "use bash, zsh, fish or powershell"}
	}
	c.printf("%s", b.String())
	return nil
}
