// Package fakeaws is an HTTP server that speaks the AWS JSON 1.1 protocol of
// CodeDeploy, ECS and SSM (and STS's AssumeRole, in its query protocol), for driving the
// real aws-sdk-go-v2 clients in tests. Each operation answers from a handler the
// test installs, or from Sim, which keeps state the way AWS does; every request is
// recorded with the access key that signed it; an operation without a handler
// fails loudly.
package fakeaws

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"
)

// Request is one recorded API call.
type Request struct {
	Op   string         // e.g. "CreateDeployment"
	Body map[string]any // the decoded JSON request (for STS, the form fields)
	// AccessKey is the access key id that signed the request, Service the
	// service it was signed for (SigV4 credential scope: codedeploy, ecs, logs,
	// monitoring for CloudWatch, elasticloadbalancing, ssm, sts).
	AccessKey, Service string
	// At is when the request arrived.
	At time.Time
}

// Error is an AWS error response.
type Error struct {
	Status  int
	Type    string // e.g. "ThrottlingException"
	Message string
}

// Throttling is the error AWS returns when a caller exceeds its rate.
func Throttling() *Error {
	return &Error{Status: 400, Type: "ThrottlingException", Message: "Rate exceeded"}
}

// Handler answers one call: a value marshalled as the JSON response, or an error.
type Handler func(body map[string]any) (any, *Error)

// WriteOps are the operations that change something in AWS.
var WriteOps = []string{"CreateDeployment", "StopDeployment", "ContinueDeployment", "RunTask", "UpdateService", "TagResource", "PutParameter", "DeleteParameter", "StopTask"}

// Server is the fake endpoint. URL is what clients use as BaseEndpoint.
type Server struct {
	*httptest.Server

	mu       sync.Mutex
	handlers map[string]Handler
	requests []Request
	assumed  map[string]string // access key -> role/session it was issued for
}

// New starts a server; stop it with Close.
func New() *Server {
	s := &Server{handlers: map[string]Handler{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Handle installs the handler of an operation.
func (s *Server) Handle(op string, h Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[op] = h
}

// Requests returns the calls received, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Ops returns the operation names received, in order.
func (s *Server) Ops() []string {
	var ops []string
	for _, r := range s.Requests() {
		ops = append(ops, r.Op)
	}
	return ops
}

// Writes returns the write operations received, in order.
func (s *Server) Writes() []string {
	var w []string
	for _, op := range s.Ops() {
		if slices.Contains(WriteOps, op) {
			w = append(w, op)
		}
	}
	return w
}

// Count returns how often op was called.
func (s *Server) Count(op string) int {
	n := 0
	for _, o := range s.Ops() {
		if o == op {
			n++
		}
	}
	return n
}

// Last returns the body of the last call of op, or nil.
func (s *Server) Last(op string) map[string]any {
	rs := s.Requests()
	for i := len(rs) - 1; i >= 0; i-- {
		if rs[i].Op == op {
			return rs[i].Body
		}
	}
	return nil
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") {
		writeError(w, &Error{Status: 403, Type: "MissingAuthenticationTokenException", Message: "request is not signed"})
		return
	}
	key := ""
	if _, rest, ok := strings.Cut(auth, "Credential="); ok {
		key, _, _ = strings.Cut(rest, "/")
	}
	switch {
	case strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded"):
		s.serveQuery(w, r, key)
		return
	case r.Header.Get("Smithy-Protocol") == "rpc-v2-cbor":
		s.serveCBOR(w, r, key)
		return
	}
	target := r.Header.Get("X-Amz-Target") // "CodeDeploy_20141006.GetDeployment"
	op := target[strings.LastIndex(target, ".")+1:]
	raw, _ := io.ReadAll(r.Body)
	body := map[string]any{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &body); err != nil {
			writeError(w, &Error{Status: 400, Type: "SerializationException", Message: err.Error()})
			return
		}
	}
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json-1.1") {
		writeError(w, &Error{Status: 400, Type: "SerializationException", Message: "not an AWS JSON 1.1 request"})
		return
	}
	h := s.record(r, op, body, key)
	if h == nil {
		writeError(w, &Error{Status: 400, Type: "UnknownOperationException", Message: fmt.Sprintf("fakeaws: no handler for %s", target)})
		return
	}
	resp, e := h(body)
	if e != nil {
		writeError(w, e)
		return
	}
	out, err := json.Marshal(resp)
	if err != nil {
		writeError(w, &Error{Status: 500, Type: "InternalFailure", Message: err.Error()})
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Write(out)
}

// AssumedKey is the access key id STS hands out for a role: requests signed with
// it were made as that role.
func AssumedKey(roleARN string) string {
	h := sha256.Sum256([]byte(roleARN))
	return "ASIA" + strings.ToUpper(hex.EncodeToString(h[:])[:16])
}

// CallerARN is who GetCallerIdentity says the caller is, for a caller that
// assumed no role through this server.
var CallerARN = "arn:aws:iam::123456789012:user/alice"

// serveSTS answers STS AssumeRole and GetCallerIdentity (query protocol: form in,
// XML out). A caller that assumed a role here is that role's session.
func (s *Server) serveSTS(w http.ResponseWriter, r *http.Request, key string) {
	body := map[string]any{}
	for k := range r.PostForm {
		body[k] = r.PostForm.Get(k)
	}
	action := r.PostForm.Get("Action")
	s.mu.Lock()
	s.requests = append(s.requests, Request{Op: action, Body: body, AccessKey: key, Service: signingService(r), At: time.Now()})
	if action == "AssumeRole" {
		if s.assumed == nil {
			s.assumed = map[string]string{}
		}
		s.assumed[AssumedKey(r.PostForm.Get("RoleArn"))] = r.PostForm.Get("RoleArn") + "/" + r.PostForm.Get("RoleSessionName")
	}
	who, ok := s.assumed[key]
	s.mu.Unlock()
	if action == "GetCallerIdentity" {
		arn := CallerARN
		if ok { // arn:aws:iam::ACCT:role/NAME/SESSION -> arn:aws:sts::ACCT:assumed-role/NAME/SESSION
			arn = strings.Replace(strings.Replace(who, ":iam::", ":sts::", 1), ":role/", ":assumed-role/", 1)
		}
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprintf(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>%s</Arn><UserId>AIDAFAKE</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata></GetCallerIdentityResponse>`, arn)
		return
	}
	role := r.PostForm.Get("RoleArn")
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>`+
		`<Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>secret-%s</SecretAccessKey><SessionToken>token</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>`+
		`<AssumedRoleUser><Arn>%s/%s</Arn><AssumedRoleId>AROAFAKE:%s</AssumedRoleId></AssumedRoleUser>`+
		`</AssumeRoleResult><ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata></AssumeRoleResponse>`,
		AssumedKey(role), AssumedKey(role), role, r.PostForm.Get("RoleSessionName"), r.PostForm.Get("RoleSessionName"))
}

func writeError(w http.ResponseWriter, e *Error) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", e.Type)
	w.WriteHeader(e.Status)
	json.NewEncoder(w).Encode(map[string]string{"__type": e.Type, "message": e.Message})
}

// Sequence answers with each response in turn and repeats the last one.
func Sequence(responses ...any) Handler {
	var mu sync.Mutex
	i := 0
	return func(map[string]any) (any, *Error) {
		mu.Lock()
		defer mu.Unlock()
		r := responses[min(i, len(responses)-1)]
		i++
		if e, ok := r.(*Error); ok {
			return nil, e
		}
		return r, nil
	}
}

// Static always answers with the same response.
func Static(response any) Handler { return Sequence(response) }

// signingService is the service of a request's SigV4 credential scope
// (Credential=<key>/<date>/<region>/<service>/aws4_request).
func signingService(r *http.Request) string {
	_, rest, ok := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	if !ok {
		return ""
	}
	rest, _, _ = strings.Cut(rest, ",")
	if parts := strings.Split(rest, "/"); len(parts) == 5 {
		return parts[3]
	}
	return ""
}

// record records a request and returns the handler of its operation.
func (s *Server) record(r *http.Request, op string, body map[string]any, key string) Handler {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, Request{Op: op, Body: body, AccessKey: key, Service: signingService(r), At: time.Now()})
	return s.handlers[op]
}
