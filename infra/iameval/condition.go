package iameval

import (
	"fmt"
	"strconv"
	"strings"
)

// operator is a parsed condition operator.
type operator struct {
	set      string // "", "ForAnyValue" or "ForAllValues"
	base     string // e.g. StringEquals, Null
	ifExists bool
}

// negated operators: a key absent from the request makes them true, and their
// values combine as NOR.
var negated = map[string]string{
	"StringNotEquals": "StringEquals", "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase", "StringNotLike": "StringLike",
	"NumericNotEquals": "NumericEquals", "ArnNotEquals": "ArnEquals", "ArnNotLike": "ArnLike",
}

var positive = map[string]bool{
	"StringEquals": true, "StringEqualsIgnoreCase": true, "StringLike": true,
	"NumericEquals": true, "NumericLessThan": true, "NumericLessThanEquals": true, "NumericGreaterThan": true, "NumericGreaterThanEquals": true,
	"ArnEquals": true, "ArnLike": true, "Bool": true, "Null": true,
}

func parseOperator(op string) (operator, error) {
	o := operator{}
	rest := op
	for _, set := range []string{"ForAnyValue:", "ForAllValues:"} {
		if r, ok := strings.CutPrefix(op, set); ok {
			o.set, rest = strings.TrimSuffix(set, ":"), r
		}
	}
	if r, ok := strings.CutSuffix(rest, "IfExists"); ok && r != "Null" {
		o.ifExists, rest = true, r
	}
	o.base = rest
	if !positive[rest] && negated[rest] == "" {
		return o, fmt.Errorf("condition operator %q is not supported", op)
	}
	return o, nil
}

// holds evaluates one condition against the request context (keys lowercased).
func (c Condition) holds(ctx map[string][]string) bool {
	op, err := parseOperator(c.Operator)
	if err != nil {
		return false // Parse refuses these; a hand-built Condition fails closed
	}
	got, present := ctx[strings.ToLower(c.Key)]
	present = present && len(got) > 0
	if op.base == "Null" {
		// "true": the key is absent; "false": it is present.
		for _, v := range c.Values {
			if strings.EqualFold(v, "true") != present {
				return true
			}
		}
		return false
	}
	if !present {
		switch {
		case op.ifExists:
			return true
		case op.set == "ForAllValues":
			return true // vacuously: no request value fails
		case op.set == "ForAnyValue":
			return false
		default:
			return negated[op.base] != "" // absent: positive false, negated true
		}
	}
	base, neg := op.base, false
	if b := negated[op.base]; b != "" {
		base, neg = b, true
	}
	// one says whether a single request value satisfies the operator: it matches
	// any policy value (OR), or for a negated operator matches none (NOR).
	one := func(v string) bool {
		for _, want := range c.Values {
			if match(base, want, v) {
				return !neg
			}
		}
		return neg
	}
	switch op.set {
	case "ForAllValues":
		for _, v := range got {
			if !one(v) {
				return false
			}
		}
		return true
	case "ForAnyValue":
		for _, v := range got {
			if one(v) {
				return true
			}
		}
		return false
	}
	// No set operator on a multivalued key: the positive form holds when any value
	// matches, the negated one when none does.
	any := false
	for _, v := range got {
		for _, want := range c.Values {
			if match(base, want, v) {
				any = true
			}
		}
	}
	return any != neg
}

// match compares one policy value with one request value under a positive operator.
func match(base, want, got string) bool {
	switch base {
	case "StringEquals":
		return want == got
	case "StringEqualsIgnoreCase":
		return strings.EqualFold(want, got)
	case "StringLike":
		return glob(want, got)
	case "ArnEquals", "ArnLike":
		// Both match each of the six segments on its own, with wildcards.
		return MatchARN(want, got)
	case "Bool":
		return strings.EqualFold(want, got)
	}
	w, err1 := strconv.ParseFloat(want, 64)
	g, err2 := strconv.ParseFloat(got, 64)
	if err1 != nil || err2 != nil {
		return false
	}
	switch base {
	case "NumericEquals":
		return g == w
	case "NumericLessThan":
		return g < w
	case "NumericLessThanEquals":
		return g <= w
	case "NumericGreaterThan":
		return g > w
	case "NumericGreaterThanEquals":
		return g >= w
	}
	return false
}
