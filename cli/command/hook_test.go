package command

import (
	"fmt"
	"slices"
	"testing"
)

// TestScanFilesKeepsOrder checks that the parallel scan reports every file
// with a key, and in the order the files came.
func TestScanFilesKeepsOrder(t *testing.T) {
	// A made-up look-alike: the marker the scan looks for, and no key.
	lookAlike := []byte("token: AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ\n")
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
