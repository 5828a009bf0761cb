// Package secrets holds the rules about secret references that both the program
// (IAM grants, config validation) and the policy pack apply. It imports nothing of
// either, so the pack stays independent of the program.
package secrets

import (
	"regexp"
	"strings"
)

// ResourceARN is what IAM grants for a secret reference of a container
// definition. SSM parameters: the parameter ARN. Secrets Manager: the secret's ARN
// without the JSON key, version stage and version id a reference may carry
// (…:secret:name:json-key:stage:version-id); a partial ARN, without the 6-character
// suffix Secrets Manager appends to names, gets the "-??????" wildcard AWS
// documents for it.
func ResourceARN(ref string) string {
	parts := strings.Split(ref, ":")
	if len(parts) < 7 || parts[2] != "secretsmanager" {
		return ref
	}
	arn := strings.Join(parts[:7], ":")
	if !fullName.MatchString(parts[6]) {
		arn += "-??????"
	}
	return arn
}

var fullName = regexp.MustCompile(`-[A-Za-z0-9]{6}$`)

var secretLike = regexp.MustCompile(`SECRET|PASSWORD|TOKEN|KEY`)

// LikeSecretName tells whether an environment variable's name says it holds a
// secret (*SECRET*, *PASSWORD*, *TOKEN*, *KEY*), which must then come through the
// container's secrets, not its environment.
func LikeSecretName(name string) bool { return secretLike.MatchString(strings.ToUpper(name)) }
