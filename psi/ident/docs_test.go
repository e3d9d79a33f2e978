package ident

import (
	"os"
	"regexp"
	"testing"
)

// canonicalInDocs finds the typed canonical examples the user documents show
// in backquotes, e.g. `phone:+8613800138000`.
var canonicalInDocs = regexp.MustCompile("`((?:phone|idcard|card|email|device):[^`\\s]+)`")

// TestDocumentedExamplesAreCanonical: every canonical identifier the user
// documents show must pass its own type's checks and be its own canonical
// form, so a reader who copies one gets a valid identifier.
func TestDocumentedExamplesAreCanonical(t *testing.T) {
	for _, doc := range []string{"../../docs/protocol/identifiers.md", "../../docs/lists.md", "../../README.md"} {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, m := range canonicalInDocs.FindAllStringSubmatch(string(b), -1) {
			n++
			id, err := ParseID(m[1])
			if err != nil || id.String() != m[1] {
				t.Errorf("%s: example %s: got %s, %v", doc, m[1], id, err)
			}
		}
		if n == 0 {
			t.Errorf("%s: no canonical example found", doc)
		}
	}
}
