// Command verifylog audits a herbtrace log server with Go's reference code for signed notes
// (golang.org/x/mod/sumdb/note) and RFC 6962 / RFC 9162 Merkle proofs (golang.org/x/mod/sumdb/tlog).
//
// Usage:
//
//	verifylog -url BASE [-old-size M -old-root BASE64] INDEX...
//
// It fetches the log's verifier key and latest checkpoint, opens the checkpoint note, and then,
// for every INDEX, checks the entry's leaf hash and its inclusion proof in the checkpoint's tree
// (and in the older tree of M entries too, when INDEX < M). Given an older tree, it also checks
// the consistency proof from that tree to the checkpoint's. It exits 0 only if everything
// verifies, 1 if something does not, and 2 on a usage error.
package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// maxBody bounds every response this program reads.
const maxBody = 1 << 20

// tree is a signed tree head: the checkpoint's origin, tree size and root hash.
type tree struct {
	origin string
	size   int64
	root   tlog.Hash
}

// server fetches from one herbtrace log.
type server struct {
	base   string
	client *http.Client
}

// get returns the body of a 200 response to GET base+path, or an error naming the status.
func (s *server) get(path string) ([]byte, error) {
	resp, err := s.client.Get(s.base + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %v", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: HTTP %d: %s", path, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return body, nil
}

// getJSON decodes the JSON body of a 200 response to GET base+path into v.
func (s *server) getJSON(path string, v any) error {
	body, err := s.get(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: bad JSON: %v", path, err)
	}
	return nil
}

// parseHash decodes canonical standard base64 of a 32-byte hash.
func parseHash(text string) (tlog.Hash, error) {
	h, err := tlog.ParseHash(text)
	if err != nil || base64.StdEncoding.EncodeToString(h[:]) != text {
		return tlog.Hash{}, fmt.Errorf("malformed hash %q", text)
	}
	return h, nil
}

// parseHashes decodes a JSON list of base64 hashes, the wire form of a proof.
func parseHashes(texts []string) ([]tlog.Hash, error) {
	hashes := make([]tlog.Hash, len(texts))
	for i, text := range texts {
		h, err := parseHash(text)
		if err != nil {
			return nil, fmt.Errorf("proof hash %d: %v", i, err)
		}
		hashes[i] = h
	}
	return hashes, nil
}

// parseCheckpoint reads the C2SP tlog-checkpoint body "origin\nsize\nbase64 root\n" itself,
// because tlog.ParseTree accepts only the Go checksum database's origin.
func parseCheckpoint(text string) (tree, error) {
	lines := strings.Split(text, "\n")
	if len(lines) != 4 || lines[3] != "" {
		return tree{}, errors.New("checkpoint body is not exactly origin, size and root lines")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return tree{}, fmt.Errorf("checkpoint size %q is not a canonical decimal", lines[1])
	}
	root, err := parseHash(lines[2])
	if err != nil {
		return tree{}, fmt.Errorf("checkpoint root: %v", err)
	}
	return tree{origin: lines[0], size: size, root: root}, nil
}

// latest fetches the key and the checkpoint, opens the note and parses its body.
func (s *server) latest() (tree, error) {
	vkey, err := s.get("/v1/log/key")
	if err != nil {
		return tree{}, err
	}
	verifier, err := note.NewVerifier(string(vkey))
	if err != nil {
		return tree{}, fmt.Errorf("log key %q: %v", vkey, err)
	}
	msg, err := s.get("/v1/log/checkpoint")
	if err != nil {
		return tree{}, err
	}
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		return tree{}, fmt.Errorf("checkpoint note: %v", err)
	}
	t, err := parseCheckpoint(n.Text)
	if err != nil {
		return tree{}, err
	}
	if t.origin != verifier.Name() {
		return tree{}, fmt.Errorf("checkpoint origin %q is not the key's name %q", t.origin, verifier.Name())
	}
	return t, nil
}

// leafHash fetches entry index and returns tlog.RecordHash of its leaf, checked against leaf_hash.
func (s *server) leafHash(index int64) (tlog.Hash, error) {
	var entry struct {
		Index    int64  `json:"index"`
		Leaf     string `json:"leaf"`
		LeafHash string `json:"leaf_hash"`
	}
	if err := s.getJSON(fmt.Sprintf("/v1/log/entries/%d", index), &entry); err != nil {
		return tlog.Hash{}, err
	}
	if entry.Index != index {
		return tlog.Hash{}, fmt.Errorf("asked for entry %d, got %d", index, entry.Index)
	}
	leaf, err := base64.StdEncoding.DecodeString(entry.Leaf)
	if err != nil {
		return tlog.Hash{}, fmt.Errorf("entry %d: leaf is not base64: %v", index, err)
	}
	served, err := parseHash(entry.LeafHash)
	if err != nil {
		return tlog.Hash{}, fmt.Errorf("entry %d: leaf_hash: %v", index, err)
	}
	if computed := tlog.RecordHash(leaf); computed != served {
		return tlog.Hash{}, fmt.Errorf("entry %d: leaf hashes to %v, server says %v", index, computed, served)
	}
	return served, nil
}

// checkInclusion fetches PATH(index, D[t.size]) and checks it with tlog.CheckRecord.
func (s *server) checkInclusion(index int64, leaf tlog.Hash, t tree) error {
	var body struct {
		Index    int64    `json:"index"`
		TreeSize int64    `json:"tree_size"`
		Proof    []string `json:"proof"`
	}
	path := fmt.Sprintf("/v1/log/proof/inclusion?index=%d&tree_size=%d", index, t.size)
	if err := s.getJSON(path, &body); err != nil {
		return err
	}
	if body.Index != index || body.TreeSize != t.size {
		return fmt.Errorf("%s answered for index %d, tree_size %d", path, body.Index, body.TreeSize)
	}
	proof, err := parseHashes(body.Proof)
	if err != nil {
		return err
	}
	if err := tlog.CheckRecord(proof, t.size, t.root, index, leaf); err != nil {
		return fmt.Errorf("inclusion of entry %d in tree %d: %v", index, t.size, err)
	}
	return nil
}

// checkConsistency fetches PROOF(old.size, D[t.size]) and checks it with tlog.CheckTree.
func (s *server) checkConsistency(old, t tree) error {
	var body struct {
		First  int64    `json:"first"`
		Second int64    `json:"second"`
		Proof  []string `json:"proof"`
	}
	path := fmt.Sprintf("/v1/log/proof/consistency?first=%d&second=%d", old.size, t.size)
	if err := s.getJSON(path, &body); err != nil {
		return err
	}
	if body.First != old.size || body.Second != t.size {
		return fmt.Errorf("%s answered for first %d, second %d", path, body.First, body.Second)
	}
	proof, err := parseHashes(body.Proof)
	if err != nil {
		return err
	}
	if err := tlog.CheckTree(proof, t.size, t.root, old.size, old.root); err != nil {
		return fmt.Errorf("consistency of tree %d with tree %d: %v", old.size, t.size, err)
	}
	return nil
}

func main() {
	base := flag.String("url", "", "base URL of the herbtrace server, e.g. http://127.0.0.1:8000")
	oldSize := flag.Int64("old-size", 0, "size of an older tree to check consistency with (0: none)")
	oldRoot := flag.String("old-root", "", "standard base64 root hash of the older tree")
	flag.Parse()
	if *base == "" || *oldSize < 0 || (*oldSize > 0) != (*oldRoot != "") {
		fmt.Fprintln(os.Stderr, "usage: verifylog -url BASE [-old-size M -old-root BASE64] INDEX...")
		os.Exit(2)
	}
	indexes := make([]int64, flag.NArg())
	for i, arg := range flag.Args() {
		n, err := strconv.ParseInt(arg, 10, 64)
		if err != nil || n < 0 {
			fmt.Fprintf(os.Stderr, "verifylog: bad leaf index %q\n", arg)
			os.Exit(2)
		}
		indexes[i] = n
	}
	var old tree
	if *oldSize > 0 {
		root, err := parseHash(*oldRoot)
		if err != nil {
			fmt.Fprintf(os.Stderr, "verifylog: -old-root: %v\n", err)
			os.Exit(2)
		}
		old = tree{size: *oldSize, root: root}
	}

	s := &server{base: strings.TrimRight(*base, "/"), client: &http.Client{Timeout: 30 * time.Second}}
	failures := 0
	fail := func(err error) {
		failures++
		fmt.Fprintf(os.Stderr, "FAIL: %v\n", err)
	}
	t, err := s.latest()
	if err != nil {
		fail(err)
		os.Exit(1)
	}
	fmt.Printf("ok: checkpoint %s size %d root %v opened with the log key\n", t.origin, t.size, t.root)
	for _, index := range indexes {
		leaf, err := s.leafHash(index)
		if err != nil {
			fail(err)
			continue
		}
		trees := []tree{t}
		if index < old.size {
			trees = append(trees, old)
		}
		for _, within := range trees {
			if err := s.checkInclusion(index, leaf, within); err != nil {
				fail(err)
			} else {
				fmt.Printf("ok: entry %d is included in tree %d\n", index, within.size)
			}
		}
	}
	if old.size > 0 {
		if err := s.checkConsistency(old, t); err != nil {
			fail(err)
		} else {
			fmt.Printf("ok: tree %d is a prefix of tree %d\n", old.size, t.size)
		}
	}
	if failures > 0 {
		fmt.Fprintf(os.Stderr, "verifylog: %d check(s) failed\n", failures)
		os.Exit(1)
	}
	fmt.Println("verifylog: all checks passed")
}
