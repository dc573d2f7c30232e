// Command signnote makes keys and signs notes with golang.org/x/mod/sumdb/note, an
// implementation independent of Vigil's: what a ticketing system's exporter would use
// to sign change records for `vigil change import`.
//
// Usage:
//
//	signnote key NAME SKEY_FILE VKEY_FILE    a new Ed25519 key pair
//	signnote sign SKEY_FILE < TEXT > NOTE    TEXT (ending in a newline) as a signed note
package main

import (
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

func die(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "signnote: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	if len(os.Args) < 2 {
		die("usage: signnote key NAME SKEY VKEY | signnote sign SKEY")
	}
	switch os.Args[1] {
	case "key":
		if len(os.Args) != 5 {
			die("usage: signnote key NAME SKEY VKEY")
		}
		skey, vkey, err := note.GenerateKey(rand.Reader, os.Args[2])
		if err != nil {
			die("%v", err)
		}
		if err := os.WriteFile(os.Args[3], []byte(skey+"\n"), 0o600); err != nil {
			die("%v", err)
		}
		if err := os.WriteFile(os.Args[4], []byte(vkey+"\n"), 0o644); err != nil {
			die("%v", err)
		}
	case "sign":
		if len(os.Args) != 3 {
			die("usage: signnote sign SKEY")
		}
		skey, err := os.ReadFile(os.Args[2])
		if err != nil {
			die("%v", err)
		}
		signer, err := note.NewSigner(strings.TrimSpace(string(skey)))
		if err != nil {
			die("%v", err)
		}
		text, err := io.ReadAll(os.Stdin)
		if err != nil {
			die("%v", err)
		}
		msg, err := note.Sign(&note.Note{Text: string(text)}, signer)
		if err != nil {
			die("%v", err)
		}
		os.Stdout.Write(msg)
	default:
		die("unknown command %q", os.Args[1])
	}
}
