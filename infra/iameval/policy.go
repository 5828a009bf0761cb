// Package iameval evaluates AWS identity-based policies the way IAM documents it,
// for tests that ask whether a role may make the calls AWS makes as that role.
//
// Sources (IAM User Guide, read 2026-12): "Policy evaluation logic" (an explicit
// Deny wins, then an Allow, else the request is implicitly denied); "IAM JSON policy
// elements: Resource" (wildcards within ARN segments, a trailing * expanding beyond
// colons); "IAM JSON policy elements: Condition operators" (a key absent from the
// request context makes a condition false, a negated one true, except ...IfExists
// and Null); "Conditions with multiple context keys or values" (operators AND, keys
// AND, values OR, negated operators NOR, ForAllValues/ForAnyValue). Policy
// variables, principals and resource-based policies are out of scope.
package iameval

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Policy is a parsed policy document.
type Policy struct {
	Name       string // for reasons: which policy a statement came from
	Statements []Statement
}

// Statement is one statement. Exactly one of Action/NotAction and of
// Resource/NotResource is set (NotX marks which).
type Statement struct {
	Sid, Effect            string
	Actions                []string
	NotAction              bool
	Resources              []string
	NotResource            bool
	Conditions             []Condition
	hasAction, hasResource bool
}

// Condition is one operator-key pair with its values.
type Condition struct {
	Operator string // as written, e.g. "ForAnyValue:StringLikeIfExists"
	Key      string
	Values   []string
}

// Parse reads a policy document: Statement as an object or array; Action,
// NotAction, Resource, NotResource as a string or list; Condition as operator ->
// key -> string (or bool/number) or list.
func Parse(name, doc string) (Policy, error) {
	var raw struct {
		Statement json.RawMessage
	}
	if err := json.Unmarshal([]byte(doc), &raw); err != nil {
		return Policy{}, fmt.Errorf("policy %s: %w", name, err)
	}
	var list []map[string]json.RawMessage
	if err := json.Unmarshal(raw.Statement, &list); err != nil {
		var one map[string]json.RawMessage
		if err := json.Unmarshal(raw.Statement, &one); err != nil {
			return Policy{}, fmt.Errorf("policy %s: Statement is neither an object nor a list: %w", name, err)
		}
		list = []map[string]json.RawMessage{one}
	}
	p := Policy{Name: name}
	for i, s := range list {
		st, err := parseStatement(s)
		if err != nil {
			return Policy{}, fmt.Errorf("policy %s statement %d: %w", name, i, err)
		}
		p.Statements = append(p.Statements, st)
	}
	return p, nil
}

// MustParse is Parse for test tables.
func MustParse(name, doc string) Policy {
	p, err := Parse(name, doc)
	if err != nil {
		panic(err)
	}
	return p
}

func parseStatement(s map[string]json.RawMessage) (Statement, error) {
	var st Statement
	if v, ok := s["Sid"]; ok {
		_ = json.Unmarshal(v, &st.Sid)
	}
	if err := json.Unmarshal(s["Effect"], &st.Effect); err != nil || (st.Effect != "Allow" && st.Effect != "Deny") {
		return st, fmt.Errorf("Effect %s: want Allow or Deny", s["Effect"])
	}
	var err error
	for _, f := range []struct {
		key, not string
		into     *[]string
		isNot    *bool
		has      *bool
	}{
		{"Action", "NotAction", &st.Actions, &st.NotAction, &st.hasAction},
		{"Resource", "NotResource", &st.Resources, &st.NotResource, &st.hasResource},
	} {
		a, okA := s[f.key]
		n, okN := s[f.not]
		switch {
		case okA && okN:
			return st, fmt.Errorf("both %s and %s", f.key, f.not)
		case okA:
			*f.into, err = stringOrList(a)
		case okN:
			*f.into, err = stringOrList(n)
			*f.isNot = true
		default:
			return st, fmt.Errorf("neither %s nor %s", f.key, f.not)
		}
		if err != nil {
			return st, fmt.Errorf("%s: %w", f.key, err)
		}
		*f.has = true
	}
	if c, ok := s["Condition"]; ok {
		var ops map[string]map[string]json.RawMessage
		if err := json.Unmarshal(c, &ops); err != nil {
			return st, fmt.Errorf("Condition: %w", err)
		}
		for _, op := range sortedKeys(ops) {
			if _, err := parseOperator(op); err != nil {
				return st, err
			}
			for _, key := range sortedKeys(ops[op]) {
				vals, err := stringOrList(ops[op][key])
				if err != nil {
					return st, fmt.Errorf("Condition %s %s: %w", op, key, err)
				}
				st.Conditions = append(st.Conditions, Condition{Operator: op, Key: key, Values: vals})
			}
		}
	}
	return st, nil
}

// stringOrList reads a JSON string, list of strings, bool or number as strings.
func stringOrList(v json.RawMessage) ([]string, error) {
	var items []any
	if err := json.Unmarshal(v, &items); err != nil {
		var one any
		if err := json.Unmarshal(v, &one); err != nil {
			return nil, err
		}
		items = []any{one}
	}
	var out []string
	for _, it := range items {
		switch t := it.(type) {
		case string:
			out = append(out, t)
		case bool, float64:
			out = append(out, fmt.Sprint(t))
		default:
			return nil, fmt.Errorf("value %v is not a string", it)
		}
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Decision is the outcome of an evaluation.
type Decision int

const (
	ImplicitDeny Decision = iota
	Allow
	ExplicitDeny
)

func (d Decision) String() string {
	return [...]string{"implicit deny", "allow", "explicit deny"}[d]
}

// Request is one authorization AWS makes: an action on one resource ARN ("*" for
// actions without resource-level permissions), with the request context.
type Request struct {
	Action, Resource string
	// Context holds the condition keys present in the request; key names are
	// case-insensitive. A key absent here is absent from the request.
	Context map[string][]string
}

// Evaluate decides a request against identity-based policies: an explicit Deny in
// any of them wins, then an Allow, else the request is implicitly denied. The
// reason names the deciding statement(s).
func Evaluate(policies []Policy, r Request) (Decision, string) {
	ctx := map[string][]string{}
	for k, v := range r.Context {
		ctx[strings.ToLower(k)] = v
	}
	var allowed []string
	for _, p := range policies {
		for i, s := range p.Statements {
			if !s.applies(r.Action, r.Resource, ctx) {
				continue
			}
			id := fmt.Sprintf("%s/%s", p.Name, s.Sid)
			if s.Sid == "" {
				id = fmt.Sprintf("%s/#%d", p.Name, i)
			}
			if s.Effect == "Deny" {
				return ExplicitDeny, "denied by " + id
			}
			allowed = append(allowed, id)
		}
	}
	if len(allowed) > 0 {
		return Allow, "allowed by " + strings.Join(allowed, ", ")
	}
	return ImplicitDeny, "no statement allows it"
}

// EvaluateBounded decides a request of a principal with a permissions boundary
// (nil: none). IAM User Guide, "Permissions boundaries for IAM entities"
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html,
// read 2026-12): "The effective permissions are everything that is allowed by both
// policy types. An explicit deny in either of these policies overrides the allow";
// "Policy evaluation logic" lists the boundary among the policies whose explicit
// Deny ends the evaluation. A boundary grants nothing: an action it allows but no
// identity policy does is still implicitly denied.
func EvaluateBounded(policies []Policy, boundary *Policy, r Request) (Decision, string) {
	d, why := Evaluate(policies, r)
	if boundary == nil || d == ExplicitDeny {
		return d, why
	}
	bd, bwhy := Evaluate([]Policy{*boundary}, r)
	switch {
	case bd == ExplicitDeny:
		return ExplicitDeny, bwhy + " (permissions boundary)"
	case d == Allow && bd == Allow:
		return Allow, why + ", within the permissions boundary " + boundary.Name
	case d == Allow:
		return ImplicitDeny, why + ", but the permissions boundary " + boundary.Name + " allows it not"
	}
	return d, why
}

func (s Statement) applies(action, resource string, ctx map[string][]string) bool {
	matched := false
	for _, a := range s.Actions {
		if MatchAction(a, action) {
			matched = true
			break
		}
	}
	if matched == s.NotAction {
		return false
	}
	matched = false
	for _, res := range s.Resources {
		if MatchARN(res, resource) {
			matched = true
			break
		}
	}
	if matched == s.NotResource {
		return false
	}
	for _, c := range s.Conditions {
		if !c.holds(ctx) {
			return false
		}
	}
	return true
}

// MatchAction matches an action pattern (service:Name with * and ?) against an
// action, case-insensitively, as IAM does.
func MatchAction(pattern, action string) bool {
	return glob(strings.ToLower(pattern), strings.ToLower(action))
}

// MatchARN matches a resource pattern against an ARN as IAM does: "*" matches
// everything; otherwise each colon-separated segment of the first five is matched
// on its own (wildcards do not cross colons there), the sixth — the resource,
// which may hold colons and slashes — as a whole, and a pattern whose last
// segment ends in * and that has fewer segments than the ARN expands beyond the
// colons ("arn:aws:s3:*" covers every S3 ARN).
func MatchARN(pattern, arn string) bool {
	if pattern == "*" {
		return true
	}
	ps, as := strings.SplitN(pattern, ":", 6), strings.SplitN(arn, ":", 6)
	if len(ps) < len(as) {
		last := ps[len(ps)-1]
		if !strings.HasSuffix(last, "*") {
			return false
		}
		as = append(as[:len(ps)-1], strings.Join(as[len(ps)-1:], ":"))
	}
	if len(ps) != len(as) {
		return false
	}
	for i := range ps {
		if !glob(ps[i], as[i]) {
			return false
		}
	}
	return true
}

// glob matches * (any run, also empty) and ? (one character).
func glob(pattern, s string) bool {
	// Iterative matcher with backtracking to the last star.
	p, i, star, mark := 0, 0, -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
