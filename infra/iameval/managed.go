package iameval

import (
	"embed"
	"strings"
)

// managedDocs are AWS managed policy documents the program attaches, copied as
// test data (testdata/README.md gives each one's source, version and date).
//
//go:embed testdata/managed/*.json
var managedDocs embed.FS

// Managed returns the document of an AWS managed policy by its ARN
// (arn:<partition>:iam::aws:policy/<name>), false when the test data lacks it.
func Managed(arn string) (Policy, bool) {
	i := strings.Index(arn, ":iam::aws:policy/")
	if i < 0 {
		return Policy{}, false
	}
	name := arn[i+len(":iam::aws:policy/"):]
	name = name[strings.LastIndex(name, "/")+1:] // service-role/… paths
	doc, err := managedDocs.ReadFile("testdata/managed/" + name + ".json")
	if err != nil {
		return Policy{}, false
	}
	p, err := Parse(name, string(doc))
	return p, err == nil
}
