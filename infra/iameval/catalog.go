package iameval

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// sarJSON is a subset of the Service Authorization Reference (testdata/README.md
// says which, from where, and how it is made).
//
//go:embed testdata/sar.json
var sarJSON []byte

// Catalog is the Service Authorization Reference for some services: each action's
// resource types and condition keys, and each resource type's ARN format and keys.
type Catalog struct {
	Package, Version, UpdatedAt, License string
	Services                             map[string]Service
}

// Service is one service prefix's actions and resource types.
type Service struct {
	Actions       map[string]Action       `json:"actions"`
	ResourceTypes map[string]ResourceType `json:"resourceTypes"`
}

// Action is one action: its access level, its action-level condition keys, and the
// resource types it authorizes on (none: only "*").
type Action struct {
	AccessLevel   string           `json:"accessLevel"`
	ConditionKeys []string         `json:"conditionKeys"`
	ResourceTypes []ActionResource `json:"resourceTypes"`
}

// ActionResource is one row of an action: a resource type and the condition keys
// the row lists.
type ActionResource struct {
	Name          string   `json:"name"`
	Required      bool     `json:"required"`
	ConditionKeys []string `json:"conditionKeys"`
}

// ResourceType is a resource type's ARN format (${Partition}, ${Account}, …
// placeholders) and the resource condition keys that apply to actions on it.
type ResourceType struct {
	ARN           string   `json:"arn"`
	ConditionKeys []string `json:"conditionKeys"`
}

var (
	catalogOnce sync.Once
	catalog     *Catalog
	catalogErr  error
)

// SAR returns the embedded catalog.
func SAR() (*Catalog, error) {
	catalogOnce.Do(func() {
		var c struct {
			Package, Version, UpdatedAt, License string
			Services                             map[string]Service
		}
		if catalogErr = json.Unmarshal(sarJSON, &c); catalogErr == nil {
			catalog = &Catalog{Package: c.Package, Version: c.Version, UpdatedAt: c.UpdatedAt, License: c.License, Services: c.Services}
		}
	})
	return catalog, catalogErr
}

// Action looks an action up by its name (service:Name, case-insensitive).
func (c *Catalog) Action(name string) (Action, string, bool) {
	svc, act, ok := strings.Cut(name, ":")
	if !ok {
		return Action{}, "", false
	}
	s, ok := c.Services[strings.ToLower(svc)]
	if !ok {
		return Action{}, "", false
	}
	for n, a := range s.Actions {
		if strings.EqualFold(n, act) {
			return a, strings.ToLower(svc) + ":" + n, true
		}
	}
	return Action{}, "", false
}

// Expand returns the catalog's actions an action pattern (with * and ?) covers,
// sorted; nil for a service the catalog does not hold.
func (c *Catalog) Expand(pattern string) []string {
	svc, _, ok := strings.Cut(pattern, ":")
	if !ok {
		return nil
	}
	s, ok := c.Services[strings.ToLower(svc)]
	if !ok {
		return nil
	}
	var out []string
	for n := range s.Actions {
		if full := strings.ToLower(svc) + ":" + n; MatchAction(pattern, full) {
			out = append(out, full)
		}
	}
	sort.Strings(out)
	return out
}

// KnownAction says whether an action exists, or an action pattern covers at least
// one action, in the catalog. Services outside the catalog are unknown.
func (c *Catalog) KnownAction(name string) bool { return len(c.Expand(name)) > 0 }

// ResourceTypeOf names the resource type of an action that an ARN is ("" for an
// action without resource types, or an ARN none of its types has the format of).
func (c *Catalog) ResourceTypeOf(action, arn string) string {
	a, full, ok := c.Action(action)
	if !ok {
		return ""
	}
	svc := c.Services[strings.SplitN(full, ":", 2)[0]]
	for _, rt := range a.ResourceTypes {
		if t, ok := svc.ResourceTypes[rt.Name]; ok && arnFormat(t.ARN).MatchString(arn) {
			return rt.Name
		}
	}
	return ""
}

var placeholder = regexp.MustCompile(`\$\{[^}]+\}`)

// arnFormat turns an ARN format into a pattern: each placeholder is any run of
// characters (not empty).
func arnFormat(format string) *regexp.Regexp {
	parts := placeholder.Split(format, -1)
	for i := range parts {
		parts[i] = regexp.QuoteMeta(parts[i])
	}
	return regexp.MustCompile("^" + strings.Join(parts, ".+") + "$")
}

// SupportedKeys are the condition keys (as the SAR writes them, with ${TagKey}
// placeholders) an action supports on a resource: the action's own keys, those
// of its row for the resource's type, and the resource type's keys — the SAR:
// "the resource condition keys that apply to an action".
func (c *Catalog) SupportedKeys(action, arn string) []string {
	a, full, ok := c.Action(action)
	if !ok {
		return nil
	}
	keys := append([]string(nil), a.ConditionKeys...)
	if rt := c.ResourceTypeOf(action, arn); rt != "" {
		svc := c.Services[strings.SplitN(full, ":", 2)[0]]
		for _, row := range a.ResourceTypes {
			if row.Name == rt {
				keys = append(keys, row.ConditionKeys...)
			}
		}
		keys = append(keys, svc.ResourceTypes[rt].ConditionKeys...)
	}
	return keys
}

// serviceScopedGlobals are the aws: keys the SAR lists per action and resource:
// present only where listed. Every other aws: key is global (the principal's
// tags, the source IP, aws:CalledVia, …) and kept.
var serviceScopedGlobals = []string{"aws:resourcetag/", "aws:requesttag/", "aws:tagkeys"}

// Supports says whether a condition key is in the request context of an action on
// a resource, as far as the SAR decides it.
func (c *Catalog) Supports(action, arn, key string) bool {
	k := strings.ToLower(key)
	scoped := !strings.HasPrefix(k, "aws:")
	for _, p := range serviceScopedGlobals {
		scoped = scoped || strings.HasPrefix(k, p)
	}
	if !scoped {
		return true
	}
	for _, s := range c.SupportedKeys(action, arn) {
		if keyMatches(s, k) {
			return true
		}
	}
	return false
}

// keyMatches matches a SAR key (with ${TagKey} or <key> placeholders) against a
// lowercased request key.
func keyMatches(sarKey, key string) bool {
	s := strings.ToLower(sarKey)
	for _, ph := range []string{"${tagkey}", "<key>", "tag-key"} {
		if prefix, ok := strings.CutSuffix(s, ph); ok {
			return strings.HasPrefix(key, prefix) && len(key) > len(prefix)
		}
	}
	return s == key
}

// Context drops from a request context the keys the action does not support on
// that resource: AWS leaves them out of the request, so a condition on such a key
// sees it absent.
func (c *Catalog) Context(action, arn string, ctx map[string][]string) map[string][]string {
	out := map[string][]string{}
	for k, v := range ctx {
		if c.Supports(action, arn, k) {
			out[k] = v
		}
	}
	return out
}

// Check refuses a request whose action the catalog does not hold, or whose
// resource is not of one of the action's resource types ("*" only for actions
// without any): a table of calls must name real actions and fitting ARNs.
func (c *Catalog) Check(r Request) error {
	a, _, ok := c.Action(r.Action)
	if !ok {
		return fmt.Errorf("%s is not an action of the Service Authorization Reference", r.Action)
	}
	if r.Resource == "*" {
		if len(a.ResourceTypes) > 0 {
			var names []string
			for _, rt := range a.ResourceTypes {
				names = append(names, rt.Name)
			}
			return fmt.Errorf("%s authorizes on a resource (%s), not *", r.Action, strings.Join(names, ", "))
		}
		return nil
	}
	if c.ResourceTypeOf(r.Action, r.Resource) == "" {
		return fmt.Errorf("%s: %s is none of its resource types", r.Action, r.Resource)
	}
	return nil
}
