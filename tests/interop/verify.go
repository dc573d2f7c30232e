// Command verify checks what Vigil publishes with an independent, standard
// implementation: golang.org/x/mod/sumdb/note for signed notes and
// golang.org/x/mod/sumdb/tlog for tree hashes, tiles and proofs.
//
// Usage:
//
//	verify note VKEY_FILE NOTE_FILE
//	verify export DIR
//	verify inclusion VKEY_FILE CHECKPOINT_FILE PROOF_JSON
//	verify consistency PROOF_JSON
//
// It exits 0 when everything verifies and 1 with a message otherwise.
package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func die(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "verify: "+format+"\n", args...)
	os.Exit(1)
}

func read(path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		die("%v", err)
	}
	return b
}

func openNote(vkeyFile string, msg []byte) *note.Note {
	v, err := note.NewVerifier(strings.TrimSpace(string(read(vkeyFile))))
	if err != nil {
		die("verifier key: %v", err)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		die("note: %v", err)
	}
	return n
}

// parseCheckpoint reads the C2SP checkpoint body: origin, size, root hash.
func parseCheckpoint(text string) (string, int64, tlog.Hash) {
	lines := strings.Split(text, "\n")
	if len(lines) < 4 {
		die("checkpoint: too few lines")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 {
		die("checkpoint: bad size %q", lines[1])
	}
	raw, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(raw) != tlog.HashSize {
		die("checkpoint: bad root hash")
	}
	var h tlog.Hash
	copy(h[:], raw)
	return lines[0], size, h
}

// tilePath encodes a tile the C2SP tlog-tiles way: tile/<L>/<N>[.p/<W>], with
// N in three-digit groups and every group but the last prefixed with "x".
func tilePath(level int, n int64, width int) string {
	s := fmt.Sprintf("%03d", n%1000)
	for n /= 1000; n > 0; n /= 1000 {
		s = fmt.Sprintf("x%03d/%s", n%1000, s)
	}
	l := "entries"
	if level >= 0 {
		l = strconv.Itoa(level)
	}
	p := "tile/" + l + "/" + s
	if width > 0 && width < 256 {
		p += ".p/" + strconv.Itoa(width)
	}
	return p
}

type dirTiles struct{ dir string }

func (d dirTiles) Height() int { return 8 }

func (d dirTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	var out [][]byte
	for _, t := range tiles {
		data, err := os.ReadFile(filepath.Join(d.dir, tilePath(t.L, t.N, t.W)))
		if err != nil && t.W < 256 {
			// a full tile also serves any narrower request
			data, err = os.ReadFile(filepath.Join(d.dir, tilePath(t.L, t.N, 256)))
		}
		if err != nil {
			return nil, err
		}
		if len(data) < t.W*tlog.HashSize {
			return nil, fmt.Errorf("tile %s too short", tilePath(t.L, t.N, t.W))
		}
		out = append(out, data[:t.W*tlog.HashSize])
	}
	return out, nil
}

func (d dirTiles) SaveTiles([]tlog.Tile, [][]byte) {}

func verifyExport(dir string) {
	vkey := filepath.Join(dir, "verifier-key")

	// the manifest lists every other file with its SHA-256
	man := openNote(vkey, read(filepath.Join(dir, "manifest")))
	sc := bufio.NewScanner(strings.NewReader(man.Text))
	line := 0
	listed := 0
	for sc.Scan() {
		line++
		if line <= 3 {
			continue
		}
		f := strings.SplitN(sc.Text(), " ", 2)
		if len(f) != 2 {
			die("manifest line %d malformed", line)
		}
		sum := sha256.Sum256(read(filepath.Join(dir, f[1])))
		if hex.EncodeToString(sum[:]) != f[0] {
			die("manifest: %s does not match", f[1])
		}
		listed++
	}

	cp := openNote(vkey, read(filepath.Join(dir, "checkpoint")))
	origin, size, root := parseCheckpoint(cp.Text)
	if origin != cp.Sigs[0].Name {
		die("origin %q is not the signer %q", origin, cp.Sigs[0].Name)
	}
	tree := tlog.Tree{N: size, Hash: root}
	hr := tlog.TileHashReader(tree, dirTiles{dir})
	th, err := tlog.TreeHash(size, hr)
	if err != nil {
		die("tree hash from tiles: %v", err)
	}
	if th != root {
		die("tree hash from tiles %v != checkpoint root %v", th, root)
	}

	// every entry bundle hashes to the leaves the tiles (already proven) hold
	var idx int64
	for n := int64(0); n*256 < size; n++ {
		w := 256
		if size-n*256 < 256 {
			w = int(size - n*256)
		}
		data := read(filepath.Join(dir, tilePath(-1, n, w)))
		for i := 0; i < w; i++ {
			if len(data) < 2 {
				die("bundle %d: truncated", n)
			}
			l := int(binary.BigEndian.Uint16(data))
			if len(data) < 2+l {
				die("bundle %d: truncated entry", n)
			}
			entry := data[2 : 2+l]
			data = data[2+l:]
			var obj map[string]interface{}
			if err := json.Unmarshal(entry, &obj); err != nil {
				die("entry %d is not JSON: %v", idx, err)
			}
			if int64(obj["index"].(float64)) != idx {
				die("entry %d says it is %v", idx, obj["index"])
			}
			hs, err := hr.ReadHashes([]int64{tlog.StoredHashIndex(0, idx)})
			if err != nil {
				die("leaf %d: %v", idx, err)
			}
			if tlog.RecordHash(entry) != hs[0] {
				die("entry %d does not hash to its leaf", idx)
			}
			// and an inclusion proof built by the standard library checks out
			p, err := tlog.ProveRecord(size, idx, hr)
			if err != nil {
				die("prove %d: %v", idx, err)
			}
			if err := tlog.CheckRecord(p, size, root, idx, hs[0]); err != nil {
				die("check %d: %v", idx, err)
			}
			idx++
		}
		if len(data) != 0 {
			die("bundle %d: trailing bytes", n)
		}
	}

	// every earlier checkpoint is a prefix of this tree
	cps, _ := filepath.Glob(filepath.Join(dir, "checkpoints", "*"))
	for _, f := range cps {
		c := openNote(vkey, read(f))
		_, n, h := parseCheckpoint(c.Text)
		if n == 0 {
			continue
		}
		p, err := tlog.ProveTree(size, n, hr)
		if err != nil {
			die("%s: prove: %v", f, err)
		}
		if err := tlog.CheckTree(p, size, root, n, h); err != nil {
			die("%s is not a prefix of the exported tree: %v", f, err)
		}
	}
	fmt.Printf("export ok: %d entries, %d checkpoints, %d files in manifest\n", size, len(cps), listed)
}

type proofJSON struct {
	Index    int64    `json:"index"`
	Size     int64    `json:"size"`
	LeafHash string   `json:"leaf_hash"`
	Root     string   `json:"root"`
	OldSize  int64    `json:"old_size"`
	NewSize  int64    `json:"new_size"`
	OldRoot  string   `json:"old_root"`
	NewRoot  string   `json:"new_root"`
	Proof    []string `json:"proof"`
}

func hash64(s string) tlog.Hash {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(raw) != tlog.HashSize {
		die("bad hash %q", s)
	}
	var h tlog.Hash
	copy(h[:], raw)
	return h
}

func loadProof(path string) (proofJSON, []tlog.Hash) {
	var p proofJSON
	if err := json.Unmarshal(bytes.TrimSpace(read(path)), &p); err != nil {
		die("%s: %v", path, err)
	}
	var hs []tlog.Hash
	for _, s := range p.Proof {
		hs = append(hs, hash64(s))
	}
	return p, hs
}

func main() {
	if len(os.Args) < 3 {
		die("usage: verify note|export|inclusion|consistency ...")
	}
	switch os.Args[1] {
	case "note":
		n := openNote(os.Args[2], read(os.Args[3]))
		fmt.Printf("note ok: signed by %s\n", n.Sigs[0].Name)
	case "export":
		verifyExport(os.Args[2])
	case "inclusion":
		cp := openNote(os.Args[2], read(os.Args[3]))
		_, size, root := parseCheckpoint(cp.Text)
		p, hs := loadProof(os.Args[4])
		if p.Size != size || hash64(p.Root) != root {
			die("the proof is for size %d, the checkpoint for %d", p.Size, size)
		}
		if err := tlog.CheckRecord(tlog.RecordProof(hs), size, root, p.Index, hash64(p.LeafHash)); err != nil {
			die("inclusion: %v", err)
		}
		fmt.Printf("inclusion ok: entry %d in tree %d\n", p.Index, size)
	case "consistency":
		p, hs := loadProof(os.Args[2])
		if err := tlog.CheckTree(tlog.TreeProof(hs), p.NewSize, hash64(p.NewRoot), p.OldSize, hash64(p.OldRoot)); err != nil {
			die("consistency: %v", err)
		}
		fmt.Printf("consistency ok: %d is a prefix of %d\n", p.OldSize, p.NewSize)
	default:
		die("unknown mode %q", os.Args[1])
	}
}
