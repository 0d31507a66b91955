package command

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestScanFilesKeepsOrder checks that the parallel scan reports every file
// with a key, and in the order the files came.
func TestScanFilesKeepsOrder(t *testing.T) {
	// Not a real key: a made-up look-alike with the marker the scan looks
	// for, put together here so that no key-like text sits in the file.
	lookAlike := []byte("token: AGE-SECRET-" + "KEY-1" + strings.Repeat("Q", 58) + "\n")
	var want []string
	got, err := scanFiles(func(fn func(path string, data []byte) error) error {
		for i := range 500 {
			path := fmt.Sprintf("f%03d", i)
			data := []byte("plain text\n")
			if i%7 == 3 {
				data = lookAlike
				want = append(want, path+" (age secret key)")
			}
			if err := fn(path, data); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("findings:\n%q\nwant:\n%q", got, want)
	}
}
