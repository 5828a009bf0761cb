// Package rules is the guardrail policy pack of this program: resource rules and
// stack rules over the whole graph it creates (network, load balancer, tasks,
// ECR, IAM, logs, CodeDeploy, the ECS service, tags). Rules see a plain view of each
// resource, so the same code runs under Pulumi's analyzer (policy/main.go) and in
// the tests over the mocked graphs of both stacks.
package rules

import (
	"encoding/json"
	"strconv"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

// Resource is what a rule sees of a resource.
type Resource struct {
	Type, URN, Name string
	// Props are its properties as plain Go values (maps, slices, strings,
	// float64, bool, nil); secrets are unwrapped, unknown values are Unknown.
	Props         map[string]any
	IgnoreChanges []string
	Protect       bool
	// PropertyDependencies are, per property, the URNs of the resources it refers to.
	PropertyDependencies map[string][]string
}

// Unknown stands for a value not known yet (in a preview). Rules skip what they
// cannot see; `pulumi up` checks the final values.
type Unknown struct{}

// Violation is one rule broken by one resource ("" URN: the stack).
type Violation struct {
	Rule, URN, Message string
}

// FromAnalyzer converts what Pulumi's analyzer passes.
func FromAnalyzer(r policyx.AnalyzerResource) Resource {
	return Resource{
		Type: r.Type, URN: r.URN, Name: r.Name,
		Props:                Plain(resource.ToResourcePropertyMap(r.Properties)),
		IgnoreChanges:        r.Options.IgnoreChanges,
		Protect:              r.Options.Protect,
		PropertyDependencies: r.PropertyDependencies,
	}
}

// Plain converts resource properties to plain values.
func Plain(pm resource.PropertyMap) map[string]any {
	out := map[string]any{}
	for k, v := range pm {
		out[string(k)] = plainValue(v)
	}
	return out
}

func plainValue(v resource.PropertyValue) any {
	switch {
	case v.IsSecret():
		return plainValue(v.SecretValue().Element)
	case v.IsComputed():
		return Unknown{}
	case v.IsOutput():
		if o := v.OutputValue(); o.Known {
			return plainValue(o.Element)
		}
		return Unknown{}
	case v.IsObject():
		return Plain(v.ObjectValue())
	case v.IsArray():
		out := []any{}
		for _, e := range v.ArrayValue() {
			out = append(out, plainValue(e))
		}
		return out
	case v.IsString():
		return v.StringValue()
	case v.IsNumber():
		return v.NumberValue()
	case v.IsBool():
		return v.BoolValue()
	case v.IsResourceReference():
		return string(v.ResourceReferenceValue().URN)
	}
	return nil
}

// get walks a path of map keys; nil when absent.
func get(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func unknown(v any) bool { _, ok := v.(Unknown); return ok }

func str(v any, path ...string) string { s, _ := get(v, path...).(string); return s }

func num(v any, path ...string) (float64, bool) { n, ok := get(v, path...).(float64); return n, ok }

func boolean(v any, path ...string) (value, ok bool) { b, ok := get(v, path...).(bool); return b, ok }

func list(v any, path ...string) []any { l, _ := get(v, path...).([]any); return l }

func strs(v any, path ...string) []string {
	var out []string
	for _, e := range list(v, path...) {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// tag returns a tag of the resource ("" when absent).
func (r Resource) tag(key string) string { return str(r.Props, "tags", key) }

// prod tells whether the resource belongs to a prod stack (its environment tag).
func (r Resource) prod() bool { return r.tag("environment") == "prod" }

// deps returns the resources of a type that a property refers to.
func deps(r Resource, property, typ string, byURN map[string]Resource) []Resource {
	var out []Resource
	for _, urn := range r.PropertyDependencies[property] {
		if d, ok := byURN[urn]; ok && (typ == "" || d.Type == typ) {
			out = append(out, d)
		}
	}
	return out
}

// containers reads a task definition's container definitions; nil, false while unknown.
func containers(r Resource) ([]map[string]any, bool) {
	text, ok := r.Props["containerDefinitions"].(string)
	if !ok {
		return nil, false
	}
	var defs []map[string]any
	if err := json.Unmarshal([]byte(text), &defs); err != nil {
		return nil, false
	}
	return defs, true
}

// statement is one statement of an IAM policy document.
type statement struct {
	Sid       string
	Effect    string
	Action    []string
	Resource  []string
	Condition map[string]any
}

// policyDoc reads an IAM policy document property; nil, false while unknown.
func policyDoc(v any) ([]statement, bool) {
	text, ok := v.(string)
	if !ok {
		return nil, false
	}
	var doc struct {
		Statement json.RawMessage
	}
	if err := json.Unmarshal([]byte(text), &doc); err != nil {
		return nil, false
	}
	var raws []map[string]any
	if err := json.Unmarshal(doc.Statement, &raws); err != nil {
		var one map[string]any
		if json.Unmarshal(doc.Statement, &one) != nil {
			return nil, false
		}
		raws = []map[string]any{one}
	}
	var out []statement
	for _, s := range raws {
		st := statement{Sid: str(s, "Sid"), Effect: str(s, "Effect"), Action: oneOrMany(s["Action"]), Resource: oneOrMany(s["Resource"])}
		st.Condition, _ = s["Condition"].(map[string]any)
		out = append(out, st)
	}
	return out, true
}

func oneOrMany(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, e := range t {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func joinPorts(from, to float64) string {
	if from == to {
		return strconv.FormatFloat(from, 'f', -1, 64)
	}
	return strconv.FormatFloat(from, 'f', -1, 64) + "-" + strconv.FormatFloat(to, 'f', -1, 64)
}
