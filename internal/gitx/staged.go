package gitx

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// StagedFiles calls fn with the path and staged content of every file the
// next commit adds or changes (what the index holds, not the work tree),
// reading one file at a time. Paths are git's own, never passed back to git
// as pathspecs, so a name such as ":key.txt" is not read as pathspec magic.
// A GIT_INDEX_FILE in the environment (as during "git commit -a") is used.
func (r Repo) StagedFiles(ctx context.Context, fn func(path string, data []byte) error) error {
	out, err := r.Run(ctx, nil, "--literal-pathspecs", "diff", "--cached", "--raw", "-z", "--no-renames",
		"--no-abbrev", "--diff-filter=ACMT")
	if err != nil {
		return err
	}
	var paths, oids []string
	fields := strings.Split(string(out), "\x00")
	for i := 0; i+1 < len(fields); i += 2 {
		// ":<old mode> <new mode> <old oid> <new oid> <status>", then the path.
		meta := strings.Fields(fields[i])
		if len(meta) != 5 || !strings.HasPrefix(meta[0], ":") {
			return fmt.Errorf("git diff: unexpected output %q", fields[i])
		}
		if meta[1] == "160000" {
			continue // a submodule's commit, not a file
		}
		paths = append(paths, fields[i+1])
		oids = append(oids, meta[3])
	}
	if len(oids) == 0 {
		return nil
	}
	cmd := command(ctx, r.Dir, nil, "cat-file", "--batch")
	cmd.Stdin = strings.NewReader(strings.Join(oids, "\n") + "\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("git cat-file: %w", err)
	}
	readErr := readBatch(bufio.NewReaderSize(pipe, 64<<10), paths, fn)
	if readErr != nil {
		io.Copy(io.Discard, pipe)
	}
	if err := cmd.Wait(); err != nil && readErr == nil {
		return fmt.Errorf("git cat-file: %s", strings.TrimSpace(stderr.String()))
	}
	return readErr
}

// readBatch reads "git cat-file --batch" output: per object a header line
// "<oid> <type> <size>", the content and a newline.
func readBatch(br *bufio.Reader, paths []string, fn func(path string, data []byte) error) error {
	for _, p := range paths {
		header, err := br.ReadString('\n')
		if err != nil {
			return fmt.Errorf("git cat-file: %w", err)
		}
		f := strings.Fields(header)
		if len(f) != 3 {
			return fmt.Errorf("git cat-file: cannot read the staged %q", p)
		}
		size, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil || size < 0 {
			return fmt.Errorf("git cat-file: bad size for %q", p)
		}
		data := make([]byte, size+1)
		if _, err := io.ReadFull(br, data); err != nil {
			return fmt.Errorf("git cat-file: %w", err)
		}
		if err := fn(p, data[:size]); err != nil {
			return err
		}
	}
	return nil
}
