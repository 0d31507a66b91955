package core

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
)

// The signed records. A small top record (signed/state), signed by the
// owner, names the vault, its version, the owner, and the SHA-256 of
// config.yaml, owner.pub, manifest.yaml, every agent's public key and
// escrow, and of each non-empty bucket file. A bucket file
// (signed/buckets/<xx>) lists the digests of the .enc and .meta of the
// secrets whose path hashes to it. A get reads the top record, one bucket
// and its own two files: its cost does not grow with the vault.
//
// Both are line-oriented text with one canonical encoding: a parser
// re-encodes what it read and refuses anything that differs, so there is
// exactly one byte string per state and no ambiguity to exploit. The
// original agent-vault ignores the signed/ directory.
const (
	signedDir  = "signed"
	stateFile  = signedDir + "/state"
	bucketsDir = signedDir + "/buckets"

	stateHeader  = "agent-vault-state v1"
	bucketHeader = "agent-vault-bucket v1"

	// maxStateSize bounds the top record: 256 buckets and the agents an
	// age file can carry fit with room to spare.
	maxStateSize = 1 << 20
	// maxBucketSize bounds one bucket, about 40,000 secrets' entries.
	maxBucketSize = 8 << 20
)

// digest is a SHA-256.
type digest [sha256.Size]byte

func digestOf(data []byte) digest { return sha256.Sum256(data) }

func (d digest) String() string { return hex.EncodeToString(d[:]) }

// parseDigest decodes 64 lowercase hex digits. A get parses every bucket
// line of the top record, so this neither allocates nor accepts two
// spellings of one digest.
func parseDigest(s string) (digest, bool) {
	var d digest
	if len(s) != 2*len(d) {
		return d, false
	}
	for i := range d {
		hi, ok1 := lowerHex(s[2*i])
		lo, ok2 := lowerHex(s[2*i+1])
		if !ok1 || !ok2 {
			return d, false
		}
		d[i] = hi<<4 | lo
	}
	return d, true
}

func lowerHex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// bucketOf is the bucket a secret's entry lives in: the first byte of the
// SHA-256 of its path.
func bucketOf(secret string) byte { return sha256.Sum256([]byte(secret))[0] }

// bucketFile names a bucket by its id and content: a new version of a
// bucket never overwrites the one the current record names, so a crash
// while signing leaves the signed state whole, and a reader between two
// writes never sees a record and buckets that disagree.
func bucketFile(id byte, d digest) string {
	return path.Join(bucketsDir, fmt.Sprintf("%02x-%s", id, d.String()[:32]))
}

// agentDigests are the digests of an agent's files. An escrow the vault
// does not have is recorded as absent.
type agentDigests struct {
	pub       digest
	escrow    digest
	hasEscrow bool
}

// bucketRef is a bucket's digest and how many secrets it lists.
type bucketRef struct {
	digest digest
	count  int
}

// state is the content of the top record.
type state struct {
	vaultID  string // 32 lowercase hex digits
	version  uint64
	signer   ed25519.PublicKey
	owner    string // owner.pub's recipient
	config   digest
	ownerPub digest
	manifest digest
	agents   map[string]agentDigests
	buckets  map[byte]bucketRef
}

// bucketFiles names the bucket files the state refers to, sorted.
func (s *state) bucketFiles() []string {
	out := make([]string, 0, len(s.buckets))
	for id, ref := range s.buckets {
		out = append(out, bucketFile(id, ref.digest))
	}
	slices.Sort(out)
	return out
}

// entry is a secret's line in a bucket.
type entry struct {
	enc, meta digest
}

// bucket is one bucket file's entries by secret path.
type bucket map[string]entry

// marshalBody encodes everything the signature covers.
func (s *state) marshalBody() []byte {
	// Encoded on every get's canonical check, with a line per agent and
	// up to 256 bucket lines: appended by hand rather than through fmt.
	b := make([]byte, 0, 512+len(s.agents)*160+len(s.buckets)*84)
	b = append(b, stateHeader+"\nvault "+s.vaultID+"\nversion "...)
	b = strconv.AppendUint(b, s.version, 10)
	b = append(b, "\nsigner "+formatOwnerKey(s.signer)+"\nowner "+s.owner+"\n"...)
	for _, f := range []struct {
		name string
		d    digest
	}{{configFile, s.config}, {ownerPubFile, s.ownerPub}, {manifestFile, s.manifest}} {
		b = append(b, "file "+f.name+" "...)
		b = hex.AppendEncode(b, f.d[:])
		b = append(b, '\n')
	}
	names := make([]string, 0, len(s.agents))
	for n := range s.agents {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		a := s.agents[n]
		b = append(b, "agent "+n+" "...)
		b = hex.AppendEncode(b, a.pub[:])
		if a.hasEscrow {
			b = append(b, ' ')
			b = hex.AppendEncode(b, a.escrow[:])
			b = append(b, '\n')
		} else {
			b = append(b, " -\n"...)
		}
	}
	for i := range 256 {
		if r, ok := s.buckets[byte(i)]; ok {
			b = append(b, "bucket "...)
			b = hex.AppendEncode(b, []byte{byte(i)})
			b = append(b, ' ')
			b = hex.AppendEncode(b, r.digest[:])
			b = append(b, ' ')
			b = strconv.AppendInt(b, int64(r.count), 10)
			b = append(b, '\n')
		}
	}
	return b
}

// sign encodes the state and appends the signature line.
func (s *state) sign(k *signer) []byte {
	body := s.marshalBody()
	sig := ed25519.Sign(k.priv, body)
	return append(body, "sig "+base64.StdEncoding.EncodeToString(sig)+"\n"...)
}

// parseState decodes and verifies a top record: its form, and that its
// signature is by the key it names. Whether that key is the right one is
// the caller's question.
func parseState(data []byte) (*state, error) {
	bad := func(format string, args ...any) error {
		return errorf(CodeUntrusted, "invalid %s/%s: %s", DirName, stateFile, fmt.Sprintf(format, args...))
	}
	i := bytes.LastIndex(data, []byte("\nsig "))
	if i < 0 || !bytes.HasSuffix(data, []byte("\n")) {
		return nil, bad("no signature")
	}
	body, sigLine := data[:i+1], string(data[i+1:len(data)-1])
	sig, err := base64.StdEncoding.Strict().DecodeString(strings.TrimPrefix(sigLine, "sig "))
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, bad("malformed signature")
	}
	lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
	s := &state{agents: map[string]agentDigests{}, buckets: make(map[byte]bucketRef, 256)}
	field := func(n int, key string) (string, error) {
		if n >= len(lines) {
			return "", bad("missing %s", key)
		}
		v, ok := strings.CutPrefix(lines[n], key+" ")
		if !ok {
			return "", bad("line %d: expected %s", n+1, key)
		}
		return v, nil
	}
	if len(lines) < 8 || lines[0] != stateHeader {
		return nil, bad("unknown format")
	}
	v, err := field(1, "vault")
	if err != nil {
		return nil, err
	}
	if _, ok := parseHexID(v); !ok {
		return nil, bad("malformed vault id")
	}
	s.vaultID = v
	if v, err = field(2, "version"); err != nil {
		return nil, err
	}
	if s.version, err = strconv.ParseUint(v, 10, 64); err != nil {
		return nil, bad("malformed version")
	}
	if v, err = field(3, "signer"); err != nil {
		return nil, err
	}
	if s.signer, err = ParseOwnerKey(v); err != nil {
		return nil, bad("malformed signer")
	}
	if v, err = field(4, "owner"); err != nil {
		return nil, err
	}
	if _, err := ParseRecipient(v); err != nil {
		return nil, bad("malformed owner")
	}
	s.owner = v
	for j, f := range []struct {
		name string
		d    *digest
	}{{configFile, &s.config}, {ownerPubFile, &s.ownerPub}, {manifestFile, &s.manifest}} {
		v, err := field(5+j, "file "+f.name)
		if err != nil {
			return nil, err
		}
		var ok bool
		if *f.d, ok = parseDigest(v); !ok {
			return nil, bad("malformed digest of %s", f.name)
		}
	}
	for n, l := range lines[8:] {
		parts, ok := fields4(l)
		switch {
		case !ok:
			return nil, bad("unexpected line %d", n+9)
		case parts[0] == "agent":
			if ValidateName("agent", parts[1]) != nil {
				return nil, bad("invalid agent name")
			}
			var a agentDigests
			var ok bool
			if a.pub, ok = parseDigest(parts[2]); !ok {
				return nil, bad("malformed digest of agent %s", parts[1])
			}
			if parts[3] != "-" {
				if a.escrow, ok = parseDigest(parts[3]); !ok {
					return nil, bad("malformed digest of agent %s", parts[1])
				}
				a.hasEscrow = true
			}
			s.agents[parts[1]] = a
		case parts[0] == "bucket":
			var id [1]byte
			hi, ok1 := lowerHex(parts[1][0])
			lo, ok2 := lowerHex(parts[1][len(parts[1])-1])
			if len(parts[1]) != 2 || !ok1 || !ok2 {
				return nil, bad("malformed bucket id")
			}
			id[0] = hi<<4 | lo
			var r bucketRef
			if r.digest, ok = parseDigest(parts[2]); !ok {
				return nil, bad("malformed bucket digest")
			}
			if r.count, err = strconv.Atoi(parts[3]); err != nil || r.count <= 0 {
				return nil, bad("malformed bucket count")
			}
			s.buckets[id[0]] = r
		default:
			return nil, bad("unexpected line %d", n+9)
		}
	}
	// One encoding per state: anything else (order, duplicates, spacing,
	// leading zeros) is refused.
	if !bytes.Equal(s.marshalBody(), body) {
		return nil, bad("not in canonical form")
	}
	if !ed25519.Verify(s.signer, body, sig) {
		return nil, errorf(CodeUntrusted, "the owner signature on %s/%s does not verify", DirName, stateFile)
	}
	return s, nil
}

// fields4 splits a line into exactly four space-separated fields without
// allocating.
func fields4(l string) (f [4]string, ok bool) {
	for i := range 3 {
		var found bool
		if f[i], l, found = strings.Cut(l, " "); !found {
			return f, false
		}
	}
	f[3] = l
	return f, !strings.Contains(l, " ")
}

// parseHexID decodes lowercase hex of 1 or 16 bytes.
func parseHexID(s string) ([]byte, bool) {
	if (len(s) != 2 && len(s) != 32) || strings.ToLower(s) != s {
		return nil, false
	}
	b, err := hex.DecodeString(s)
	return b, err == nil
}

// marshalBucket encodes bucket id's entries, sorted by path.
func marshalBucket(id byte, b bucket) []byte {
	names := make([]string, 0, len(b))
	for n := range b {
		names = append(names, n)
	}
	slices.Sort(names)
	var out bytes.Buffer
	fmt.Fprintf(&out, "%s %02x\n", bucketHeader, id)
	for _, n := range names {
		e := b[n]
		fmt.Fprintf(&out, "%s %s %s\n", n, e.enc, e.meta)
	}
	return out.Bytes()
}

// parseBucket decodes bucket file id. Its digest has been checked against
// the signed top record, so damage here means a bug or a hash collision;
// it is still parsed strictly.
func parseBucket(id byte, data []byte) (bucket, error) {
	bad := func(format string, args ...any) error {
		return errorf(CodeUntrusted, "invalid signed bucket %02x: %s", id, fmt.Sprintf(format, args...))
	}
	if !bytes.HasSuffix(data, []byte("\n")) {
		return nil, bad("truncated")
	}
	lines := strings.Split(string(data[:len(data)-1]), "\n")
	if lines[0] != fmt.Sprintf("%s %02x", bucketHeader, id) {
		return nil, bad("unknown format")
	}
	b := bucket{}
	prev := ""
	for n, l := range lines[1:] {
		parts := strings.Split(l, " ")
		if len(parts) != 3 || ValidateSecretPath(parts[0]) != nil || bucketOf(parts[0]) != id {
			return nil, bad("line %d", n+2)
		}
		if parts[0] <= prev {
			return nil, bad("not in canonical form")
		}
		prev = parts[0]
		var e entry
		var ok1, ok2 bool
		e.enc, ok1 = parseDigest(parts[1])
		e.meta, ok2 = parseDigest(parts[2])
		if !ok1 || !ok2 {
			return nil, bad("line %d", n+2)
		}
		b[parts[0]] = e
	}
	return b, nil
}
