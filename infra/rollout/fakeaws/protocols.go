package fakeaws

import (
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// The protocols besides AWS JSON 1.1: the query protocol (form in, XML out) of STS
// and Elastic Load Balancing v2, and Smithy RPC v2 CBOR of CloudWatch, which the SDK
// versions here speak. A handler sees the request as a map either way and answers
// a map; the field names are the service's (PascalCase for query and CBOR).

// serveQuery answers a query-protocol request: form fields in, XML out.
func (s *Server) serveQuery(w http.ResponseWriter, r *http.Request, key string) {
	if err := r.ParseForm(); err != nil {
		writeQueryError(w, &Error{Status: 400, Type: "MalformedQueryString", Message: err.Error()})
		return
	}
	action := r.PostForm.Get("Action")
	if action == "AssumeRole" || action == "GetCallerIdentity" {
		s.serveSTS(w, r, key)
		return
	}
	body := map[string]any{}
	for k := range r.PostForm {
		body[k] = r.PostForm.Get(k)
	}
	h := s.record(r, action, body, key)
	if h == nil {
		writeQueryError(w, &Error{Status: 400, Type: "InvalidAction", Message: "fakeaws: no handler for " + action})
		return
	}
	resp, e := h(body)
	if e != nil {
		writeQueryError(w, e)
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<%sResponse><%sResult>", action, action)
	writeXML(&b, resp)
	fmt.Fprintf(&b, "</%sResult><ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata></%sResponse>", action, action)
	w.Header().Set("Content-Type", "text/xml")
	io.WriteString(w, b.String())
}

// writeXML writes a value as the query protocol's XML: maps as elements, lists as
// <member> elements.
func writeXML(b *strings.Builder, v any) {
	switch t := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(b, "<%s>", k)
			writeXML(b, t[k])
			fmt.Fprintf(b, "</%s>", k)
		}
	case []any:
		for _, e := range t {
			b.WriteString("<member>")
			writeXML(b, e)
			b.WriteString("</member>")
		}
	case nil:
	default:
		xml.EscapeText(b, []byte(fmt.Sprint(t)))
	}
}

func writeQueryError(w http.ResponseWriter, e *Error) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(e.Status)
	var b strings.Builder
	b.WriteString("<ErrorResponse><Error><Type>Sender</Type><Code>")
	xml.EscapeText(&b, []byte(e.Type))
	b.WriteString("</Code><Message>")
	xml.EscapeText(&b, []byte(e.Message))
	b.WriteString("</Message></Error><RequestId>fake</RequestId></ErrorResponse>")
	io.WriteString(w, b.String())
}

// serveCBOR answers a Smithy RPC v2 CBOR request (POST /service/<S>/operation/<Op>).
func (s *Server) serveCBOR(w http.ResponseWriter, r *http.Request, key string) {
	op := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	raw, _ := io.ReadAll(r.Body)
	body := map[string]any{}
	if len(raw) > 0 {
		v, err := cbor.Decode(raw)
		if err != nil {
			writeCBORError(w, &Error{Status: 400, Type: "SerializationException", Message: err.Error()})
			return
		}
		if m, ok := fromCBOR(v).(map[string]any); ok {
			body = m
		}
	}
	h := s.record(r, op, body, key)
	if h == nil {
		writeCBORError(w, &Error{Status: 400, Type: "UnknownOperationException", Message: "fakeaws: no handler for " + op})
		return
	}
	resp, e := h(body)
	if e != nil {
		writeCBORError(w, e)
		return
	}
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("Content-Type", "application/cbor")
	w.Write(cbor.Encode(toCBOR(resp)))
}

func writeCBORError(w http.ResponseWriter, e *Error) {
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("Content-Type", "application/cbor")
	w.WriteHeader(e.Status)
	w.Write(cbor.Encode(cbor.Map{"__type": cbor.String(e.Type), "message": cbor.String(e.Message)}))
}

// Time is a timestamp in a CBOR answer (Smithy encodes it as epoch seconds, tag 1).
type Time time.Time

func toCBOR(v any) cbor.Value {
	switch t := v.(type) {
	case map[string]any:
		m := cbor.Map{}
		for k, e := range t {
			m[k] = toCBOR(e)
		}
		return m
	case []any:
		l := cbor.List{}
		for _, e := range t {
			l = append(l, toCBOR(e))
		}
		return l
	case string:
		return cbor.String(t)
	case bool:
		return cbor.Bool(t)
	case int:
		if t < 0 {
			return cbor.NegInt(uint64(-t))
		}
		return cbor.Uint(uint64(t))
	case float64:
		return cbor.Float64(t)
	case Time:
		return &cbor.Tag{ID: 1, Value: cbor.Float64(float64(time.Time(t).UnixMilli()) / 1000)}
	case nil:
		return &cbor.Nil{}
	}
	return cbor.String(fmt.Sprint(v))
}

func fromCBOR(v cbor.Value) any {
	switch t := v.(type) {
	case cbor.Map:
		m := map[string]any{}
		for k, e := range t {
			m[k] = fromCBOR(e)
		}
		return m
	case cbor.List:
		l := []any{}
		for _, e := range t {
			l = append(l, fromCBOR(e))
		}
		return l
	case cbor.String:
		return string(t)
	case cbor.Bool:
		return bool(t)
	case cbor.Uint:
		return float64(t)
	case cbor.NegInt:
		return -float64(t)
	case cbor.Float64:
		return float64(t)
	case cbor.Float32:
		return float64(t)
	}
	return math.NaN()
}
