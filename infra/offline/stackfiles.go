// Package offline runs the Pulumi program without AWS, a Pulumi CLI or provider
// plugins: it reads the stack's configuration the way the CLI would and answers
// resource registrations with Pulumi's mocks, recording every resource.
package offline

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// ProjectFile is the part of Pulumi.yaml this package reads.
type ProjectFile struct {
	Name        string                       `yaml:"name"`
	Runtime     any                          `yaml:"runtime"`
	Description string                       `yaml:"description"`
	Config      map[string]ConfigDeclaration `yaml:"config"`
}

// ConfigDeclaration is one entry of Pulumi.yaml's project-level config block.
type ConfigDeclaration struct {
	Type        string         `yaml:"type"`
	Description string         `yaml:"description"`
	Default     any            `yaml:"default"`
	Value       any            `yaml:"value"`
	Items       map[string]any `yaml:"items"`
}

// ReadProject parses dir/Pulumi.yaml.
func ReadProject(dir string) (*ProjectFile, error) {
	data, err := os.ReadFile(filepath.Join(dir, "Pulumi.yaml"))
	if err != nil {
		return nil, err
	}
	var p ProjectFile
	if err := yaml.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("parsing Pulumi.yaml: %w", err)
	}
	if p.Name == "" {
		return nil, fmt.Errorf("Pulumi.yaml has no name")
	}
	return &p, nil
}

// StackConfig returns the configuration `pulumi up` would pass for stack: the
// project's defaults overlaid by Pulumi.<stack>.yaml, keys fully qualified
// ("project:key"), values as the CLI passes them (scalars as text, lists and
// objects as JSON).
func StackConfig(dir, stack string) (project string, cfg map[string]string, err error) {
	p, err := ReadProject(dir)
	if err != nil {
		return "", nil, err
	}
	cfg = map[string]string{}
	for key, decl := range p.Config {
		v := decl.Value
		if v == nil {
			v = decl.Default
		}
		if v == nil {
			continue
		}
		if cfg[qualify(p.Name, key)], err = configText(v); err != nil {
			return "", nil, fmt.Errorf("Pulumi.yaml config %s: %w", key, err)
		}
	}
	file := filepath.Join(dir, "Pulumi."+stack+".yaml")
	data, err := os.ReadFile(file)
	if err != nil {
		return "", nil, fmt.Errorf("reading stack file: %w", err)
	}
	var s struct {
		Config map[string]any `yaml:"config"`
	}
	if err := yaml.Unmarshal(data, &s); err != nil {
		return "", nil, fmt.Errorf("parsing %s: %w", filepath.Base(file), err)
	}
	for key, v := range s.Config {
		if cfg[qualify(p.Name, key)], err = configText(v); err != nil {
			return "", nil, fmt.Errorf("%s config %s: %w", filepath.Base(file), key, err)
		}
	}
	return p.Name, cfg, nil
}

// SecretStandIn is what an offline run reads for a config value stored as a secret.
const SecretStandIn = "offline-secret-stand-in"

func qualify(project, key string) string {
	if strings.Contains(key, ":") {
		return key
	}
	return project + ":" + key
}

// configText renders a YAML value as the Pulumi CLI hands it to the program.
func configText(v any) (string, error) {
	switch t := v.(type) {
	case string:
		return t, nil
	case int, int64, float64, bool:
		return fmt.Sprint(t), nil
	case map[string]any:
		// A secret (`pulumi config set --secret`) cannot be decrypted offline: the
		// program sees a stand-in, as a preview without the passphrase would not.
		if _, secure := t["secure"]; secure && len(t) == 1 {
			return SecretStandIn, nil
		}
	}
	b, err := json.Marshal(v)
	return string(b), err
}

// ExampleMarker precedes the README's complete example stack file, a fenced yaml
// block the tests run.
const ExampleMarker = "<!-- example stack file: Pulumi.dev.yaml"

// ExampleStackFile is the fenced yaml block after ExampleMarker in a README.
func ExampleStackFile(readme []byte) (string, error) {
	text := string(readme)
	i := strings.Index(text, ExampleMarker)
	if i < 0 {
		return "", fmt.Errorf("no %q in the README", ExampleMarker)
	}
	rest := text[i:]
	start := strings.Index(rest, "```yaml\n")
	if start < 0 {
		return "", fmt.Errorf("no yaml block after %q", ExampleMarker)
	}
	rest = rest[start+len("```yaml\n"):]
	end := strings.Index(rest, "```")
	if end < 0 {
		return "", fmt.Errorf("the example's yaml block is not closed")
	}
	return rest[:end], nil
}

// ExampleProject writes a project directory with projectDir's Pulumi.yaml and the
// README's example as Pulumi.<stack>.yaml, for offline runs (build contexts still
// resolve against the working directory).
func ExampleProject(dir, projectDir, stack string) error {
	readme, err := os.ReadFile(filepath.Join(projectDir, "README.md"))
	if err != nil {
		return err
	}
	example, err := ExampleStackFile(readme)
	if err != nil {
		return err
	}
	project, err := os.ReadFile(filepath.Join(projectDir, "Pulumi.yaml"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "Pulumi.yaml"), project, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "Pulumi."+stack+".yaml"), []byte(example), 0o644)
}
