package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"

	"github.com/agent-vault/agent-vault/internal/mask"
)

// Spec describes one run.
type Spec struct {
	// Argv is the program and its arguments. A program without a path
	// separator is looked up in this process's PATH.
	Argv []string
	// Env is the child's whole environment (see Environ).
	Env []string
	// Dir is the working directory; empty means this process's.
	Dir    string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Mask, when set, replaces its values in the child's stdout and
	// stderr. Without it the writers go to the child as they are: an
	// *os.File is inherited, so a terminal stays the child's terminal.
	Mask *mask.Set
	// ForwardSignals relays SIGINT, SIGTERM and SIGHUP to the child while
	// it runs, instead of letting them end this process.
	ForwardSignals bool
	// Isolate starts the child in a process group of its own, which is
	// killed when ctx ends and once the child has exited, so nothing the
	// child started outlives the run. For unattended runs only: a child
	// outside the terminal's foreground group cannot read the terminal.
	Isolate bool
}

// Result is how a run ended.
type Result struct {
	// ExitCode is the child's exit status, or 128+n if signal n ended it.
	ExitCode int
	// Canceled is set when ctx ended the run, such as a time limit.
	Canceled bool
}

// StartError reports a program that could not be started.
type StartError struct {
	Program string
	Err     error
}

func (e *StartError) Error() string { return fmt.Sprintf("failed to start %s: %v", e.Program, e.Err) }

func (e *StartError) Unwrap() error { return e.Err }

// NotFound reports whether the program does not exist, which shells
// report with exit status 127 (126 for any other failure to start).
func (e *StartError) NotFound() bool {
	return errors.Is(e.Err, exec.ErrNotFound) || errors.Is(e.Err, fs.ErrNotExist)
}

// Run starts the program, waits for it, and flushes the masked output.
func Run(ctx context.Context, spec Spec) (Result, error) {
	if len(spec.Argv) == 0 || spec.Argv[0] == "" {
		return Result{}, &StartError{Program: `""`, Err: errors.New("no program given")}
	}
	cmd := exec.CommandContext(ctx, spec.Argv[0], spec.Argv[1:]...)
	cmd.Env, cmd.Dir, cmd.Stdin = spec.Env, spec.Dir, spec.Stdin
	cmd.Stdout, cmd.Stderr = spec.Stdout, spec.Stderr
	var masked []*mask.Writer
	if spec.Mask != nil {
		out, errw := spec.Mask.NewWriter(spec.Stdout), spec.Mask.NewWriter(spec.Stderr)
		cmd.Stdout, cmd.Stderr = out, errw
		masked = append(masked, out, errw)
	}
	if spec.Isolate {
		isolate(cmd)
	}
	// Signals are caught before the start, so one that arrives while the
	// child is starting does not end this process and leave it orphaned.
	var sigs chan os.Signal
	if spec.ForwardSignals {
		sigs = make(chan os.Signal, 8)
		signal.Notify(sigs, forwarded...)
		defer signal.Stop(sigs)
	}
	if err := cmd.Start(); err != nil {
		return Result{}, &StartError{Program: spec.Argv[0], Err: err}
	}
	done := make(chan struct{})
	if sigs != nil {
		go func() {
			for {
				select {
				case sig := <-sigs:
					relay(sig, cmd.Process, spec.Isolate)
				case <-done:
					return
				}
			}
		}()
	}
	err := cmd.Wait()
	close(done)
	if spec.Isolate {
		reap(cmd)
	}
	for _, w := range masked {
		// The stream has ended: what was held back can be decided.
		w.Close()
	}
	if cmd.ProcessState == nil {
		return Result{}, fmt.Errorf("failed to wait for %s: %w", spec.Argv[0], err)
	}
	return Result{ExitCode: exitCode(cmd.ProcessState), Canceled: ctx.Err() != nil}, nil
}
