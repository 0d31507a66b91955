package command

import (
	"fmt"
	"sort"
	"strings"

	"github.com/agent-vault/agent-vault/core"
)

func init() {
	register(&command{
		name: "completions", args: "bash|zsh|fish|powershell", minArgs: 1, maxArgs: 1,
		summary: "print a shell completion script",
		details: `Prints a completion script. Bash, zsh and fish complete commands, flags,
secret paths, agent and group names (read from the vault's manifest, never
decrypted), shell names, and file names after --from-file, --key and --to;
PowerShell completes commands and flags. For example:
  agent-vault completions bash > /etc/bash_completion.d/agent-vault
  agent-vault completions zsh > "${fpath[1]}/_agent-vault"
  agent-vault completions fish > ~/.config/fish/completions/agent-vault.fish
  agent-vault completions powershell >> $PROFILE`,
		run: runCompletions,
	})
}

// The bash, zsh and fish scripts ask the binary itself, through the hidden
// __complete command (see complete.go), so what they offer is always what
// this version accepts and what the vault holds.
const bashScript = `# bash completion for agent-vault
_agent_vault() {
  local cur=${COMP_WORDS[COMP_CWORD]} out IFS=$'\n'
  out=$("${COMP_WORDS[0]}" __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null) || return 0
  case "$out" in
    :files) COMPREPLY=($(compgen -f -- "$cur")); compopt -o filenames 2>/dev/null ;;
    :dirs) COMPREPLY=($(compgen -d -- "$cur")); compopt -o filenames 2>/dev/null ;;
    *) COMPREPLY=($(compgen -W "$out" -- "$cur")) ;;
  esac
}
complete -F _agent_vault agent-vault
`

// The zsh script works both ways it is installed: as the autoloaded
// function _agent-vault in $fpath (the first TAB runs the completion, not
// just defines it) and sourced (it registers itself with compdef).
const zshScript = `#compdef agent-vault
_agent_vault() {
  local out
  local -a cands
  out=$(${words[1]} __complete "${(@)words[2,CURRENT]}" 2>/dev/null) || return 1
  case $out in
    :files) _files ;;
    :dirs) _files -/ ;;
    *) [[ -n $out ]] && cands=("${(@f)out}") && compadd -a cands ;;
  esac
}
if [[ $funcstack[1] == _agent-vault ]]; then
  _agent_vault "$@"
else
  compdef _agent_vault agent-vault
fi
`

const fishScript = `# fish completion for agent-vault
function __agent_vault_complete
    set -l cur (commandline -ct)
    set -l tokens (commandline -opc) "$cur"
    set -l out (command $tokens[1] __complete $tokens[2..-1] 2>/dev/null)
    switch "$out[1]"
        case :files
            __fish_complete_path "$cur"
        case :dirs
            __fish_complete_directories "$cur"
        case '*'
            printf '%s\n' $out
    end
end
complete -c agent-vault -f -a '(__agent_vault_complete)'
`

func runCompletions(c *ctx, args []string) error {
	switch args[0] {
	case "bash":
		c.printf("%s", bashScript)
	case "zsh":
		c.printf("%s", zshScript)
	case "fish":
		c.printf("%s", fishScript)
	case "powershell":
		c.printf("%s", powershellScript())
	default:
		return &core.Error{Code: core.CodeInvalidInput, Msg: fmt.Sprintf("unknown shell %q", args[0]), Hint: "use " + strings.Join(shells, ", ")}
	}
	return nil
}

// powershellScript completes commands and each command's flags from a
// table written into the script.
func powershellScript() string {
	names := []string{"mcp"}
	flags := map[string][]string{}
	for n, cmd := range commands {
		names = append(names, n)
		flags[n] = flagList(flagSet(cmd))
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("# PowerShell completion for agent-vault\nRegister-ArgumentCompleter -Native -CommandName agent-vault -ScriptBlock {\n  param($wordToComplete, $commandAst, $cursorPosition)\n")
	b.WriteString("  $words = $commandAst.CommandElements | ForEach-Object { $_.ToString() }\n  $flags = @{\n")
	for _, n := range names {
		b.WriteString(fmt.Sprintf("    '%s' = @('%s')\n", n, strings.Join(flags[n], "','")))
	}
	b.WriteString("  }\n  if ($words.Count -le 2 -and -not $wordToComplete.StartsWith('-')) { $cands = @('" + strings.Join(names, "','") + "') }\n")
	b.WriteString("  else { $cands = $flags[$words[1]] }\n  $cands | Where-Object { $_ -like \"$wordToComplete*\" } | ForEach-Object { [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_) }\n}\n")
	return b.String()
}
