package mcpserver

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// auditEntry is one line of the audit log. It records who asked for what
// and how it ended, never a value.
type auditEntry struct {
	Time     string `json:"time"`
	Tool     string `json:"tool"`
	Identity string `json:"identity,omitempty"`
	Secret   string `json:"secret,omitempty"`
	Group    string `json:"group,omitempty"`
	// Secrets, Program and Host describe a use by agent_vault_run or
	// agent_vault_http; ExitCode and Status how it ended.
	Secrets  []string `json:"secrets,omitempty"`
	Program  string   `json:"program,omitempty"`
	Host     string   `json:"host,omitempty"`
	ExitCode *int     `json:"exit_code,omitempty"`
	Status   int      `json:"status,omitempty"`
	// Outcome is "ok" or an error code of docs/architecture.md §6.
	Outcome string `json:"outcome"`
}

// auditLog appends JSON lines to a file. A nil *auditLog discards entries,
// so callers need not check whether --audit-log was given.
type auditLog struct {
	mu  sync.Mutex
	w   io.WriteCloser
	now func() time.Time
}

// openAuditLog opens path for appending, creating it readable by the owner
// only: the log reveals which secrets an agent uses.
func openAuditLog(path string) (*auditLog, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("failed to open audit log: %w", err)
	}
	return &auditLog{w: f, now: time.Now}, nil
}

// record writes e as one line. Each line goes out in a single write, so
// O_APPEND keeps lines whole even when several servers share the file.
func (l *auditLog) record(e auditEntry) error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	e.Time = l.now().UTC().Format(time.RFC3339Nano)
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("failed to encode audit entry: %w", err)
	}
	if _, err := l.w.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("failed to write audit log: %w", err)
	}
	return nil
}

// Close closes the underlying file.
func (l *auditLog) Close() error {
	if l == nil {
		return nil
	}
	return l.w.Close()
}
