package fakeaws

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Sim is a stateful fake of one ECS service with the CODE_DEPLOY controller and
// its CodeDeploy deployment group, behind a Server. It keeps state the way AWS
// does, so a rollout passes only by doing the right thing:
//   - CreateService (EnsureService, called where Pulumi would create the service)
//     starts a PRIMARY task set on the declared revision without an external id;
//     it becomes steady after a few looks, or crash-loops, leaving stopped tasks;
//   - a created deployment moves Created → InProgress → Succeeded one step per
//     GetDeployment; success makes its revision the PRIMARY task set, tagged with
//     the deployment id; a revision that crash-loops fails the deployment and
//     starts a rollback deployment that leaves the PRIMARY task set as it was;
//   - StopDeployment with rollback stops it and starts a rollback deployment;
//   - CreateDeployment while any deployment (rollbacks included) is active answers
//     DeploymentLimitExceededException.
type Sim struct {
	srv *Server

	mu sync.Mutex
	// Steps is how many looks a task set takes to become steady, and a deployment
	// phase to finish (default 2).
	Steps int
	// MigrationExit is the exit code of one-off tasks (RunTask).
	MigrationExit int

	svc       *simService
	crash     map[string]Crash // task definition -> how its tasks fail
	deps      []*simDeployment
	tasks     map[string]*simTask
	taskOrder []string
	seq       int
	raceTD    string
	races     int
}

// Crash is how the tasks of a broken revision stop.
type Crash struct {
	Reason   string // the task's stoppedReason
	ExitCode int    // the app container's exit code
}

type simService struct {
	name, cluster string
	desired       int32
	container     string
	port          int
	primary       *simTaskSet
}

type simTaskSet struct {
	arn, id, td, externalID string
	network                 map[string]any // awsvpcConfiguration
	capacity                string
	targetGroup             string
	tags                    map[string]string
	looks                   int
}

type simDeployment struct {
	id, td, creator, status string
	content                 string
	spec                    appSpecTarget
	looks                   int
	errCode, errMessage     string
	rollbackID              string
	terminationWait         bool
	// previous is what served before this deployment shifted traffic; rollbackOf
	// the deployment a rollback undoes.
	previous   *simTaskSet
	rollbackOf *simDeployment
}

type simTask struct {
	arn, td, startedBy, reason string
	exit                       int
	looks                      int
	stopped                    bool
}

// appSpecTarget is what the sim reads of an AppSpec.
type appSpecTarget struct {
	TaskDefinition       string `json:"TaskDefinition"`
	NetworkConfiguration struct {
		AwsvpcConfiguration struct {
			Subnets        []string `json:"Subnets"`
			SecurityGroups []string `json:"SecurityGroups"`
			AssignPublicIp string   `json:"AssignPublicIp"`
		} `json:"AwsvpcConfiguration"`
	} `json:"NetworkConfiguration"`
	CapacityProviderStrategy []struct {
		CapacityProvider string `json:"CapacityProvider"`
	} `json:"CapacityProviderStrategy"`
	LoadBalancerInfo struct {
		ContainerName string `json:"ContainerName"`
		ContainerPort int    `json:"ContainerPort"`
	} `json:"LoadBalancerInfo"`
}

// NewSim installs a simulation on srv.
func NewSim(srv *Server) *Sim {
	s := &Sim{srv: srv, Steps: 2, crash: map[string]Crash{}, tasks: map[string]*simTask{}}
	for op, h := range map[string]Handler{
		"DescribeServices": s.describeServices, "DescribeTaskSets": s.describeTaskSets, "TagResource": s.tagResource,
		"ListTasks": s.listTasks, "DescribeTasks": s.describeTasks, "RunTask": s.runTask,
		"ListDeployments": s.listDeployments, "GetDeployment": s.getDeployment, "CreateDeployment": s.createDeployment,
		"StopDeployment": s.stopDeployment, "ListDeploymentTargets": s.listTargets, "GetDeploymentTarget": s.getTarget,
	} {
		srv.Handle(op, h)
	}
	return s
}

// ServiceSpec is what CreateService is called with.
type ServiceSpec struct {
	Name, Cluster, TaskDefinition string
	Subnets, SecurityGroups       []string
	AssignPublicIP                bool
	CapacityProvider              string
	TargetGroup                   string
	ContainerName                 string
	ContainerPort                 int
	DesiredCount                  int
	// DeployedBy seeds a service whose PRIMARY task set an earlier CodeDeploy
	// deployment made; "" is a new service, as CreateService leaves it.
	DeployedBy string
}

// EnsureService is CreateService: the first call creates the service and its
// PRIMARY task set on the given revision; later calls change nothing, as with a
// Pulumi update that ignores what only CodeDeploy may change.
func (s *Sim) EnsureService(spec ServiceSpec) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.svc != nil {
		return
	}
	assign := "DISABLED"
	if spec.AssignPublicIP {
		assign = "ENABLED"
	}
	s.svc = &simService{name: spec.Name, cluster: spec.Cluster, desired: int32(spec.DesiredCount), container: spec.ContainerName, port: spec.ContainerPort}
	s.svc.primary = s.newTaskSet(spec.TaskDefinition, "", map[string]any{
		"subnets": spec.Subnets, "securityGroups": spec.SecurityGroups, "assignPublicIp": assign,
	}, spec.CapacityProvider, spec.TargetGroup)
	s.svc.primary.externalID = spec.DeployedBy
}

// Crashes makes the tasks of a revision stop right after they start.
func (s *Sim) Crashes(taskDefinition string, c Crash) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.crash[taskDefinition] = c
}

// StartDeployment starts a deployment of td as another deployer would, and returns its id.
func (s *Sim) StartDeployment(td string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addDeployment(td, "user", "").id
}

// RaceCreates makes another deployer start a deployment of td just before each of
// the next n CreateDeployment calls arrives.
func (s *Sim) RaceCreates(td string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.raceTD, s.races = td, n
}

// Serving returns the PRIMARY task set's revision and external id ("" before CreateService).
func (s *Sim) Serving() (taskDefinition, externalID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.svc == nil {
		return "", ""
	}
	return s.svc.primary.td, s.svc.primary.externalID
}

// Deployment is a deployment as the sim knows it.
type Deployment struct {
	ID, TaskDefinition, Creator, Status string
	Content                             string // the AppSpec
}

// Deployments returns every deployment in creation order.
func (s *Sim) Deployments() []Deployment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Deployment
	for _, d := range s.deps {
		out = append(out, Deployment{ID: d.id, TaskDefinition: d.td, Creator: d.creator, Status: d.status, Content: d.content})
	}
	return out
}

func (s *Sim) next(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s%06d", prefix, s.seq)
}

func (s *Sim) newTaskSet(td, externalID string, network map[string]any, capacity, targetGroup string) *simTaskSet {
	id := s.next("ecs-svc/")
	return &simTaskSet{
		arn: fmt.Sprintf("arn:aws:ecs:ap-northeast-2:123456789012:task-set/%s/%s/%s", s.svc.cluster, s.svc.name, id),
		id:  id, td: td, externalID: externalID, network: network, capacity: capacity, targetGroup: targetGroup,
		tags: map[string]string{},
	}
}

func (s *Sim) addDeployment(td, creator, content string) *simDeployment {
	if content == "" && creator == "user" { // another deployer's AppSpec
		b, _ := json.Marshal(map[string]any{"version": "0.0", "Resources": []any{map[string]any{"TargetService": map[string]any{
			"Type": "AWS::ECS::Service", "Properties": map[string]any{"TaskDefinition": td},
		}}}})
		content = string(b)
	}
	d := &simDeployment{id: s.next("d-"), td: td, creator: creator, status: "Created", content: content}
	if content != "" {
		var spec struct {
			Resources []map[string]struct {
				Properties appSpecTarget `json:"Properties"`
			} `json:"Resources"`
		}
		if err := json.Unmarshal([]byte(content), &spec); err == nil && len(spec.Resources) > 0 {
			d.spec = spec.Resources[0]["TargetService"].Properties
			d.td = d.spec.TaskDefinition
		}
	}
	s.deps = append(s.deps, d)
	return d
}

// deployment is the deployment a request names, or CodeDeploy's error for none.
func (s *Sim) deployment(body map[string]any) (*simDeployment, *Error) {
	if d := s.find(fmt.Sprint(body["deploymentId"])); d != nil {
		return d, nil
	}
	return nil, notFound("DeploymentDoesNotExistException", "no such deployment")
}

func (s *Sim) find(id string) *simDeployment {
	for _, d := range s.deps {
		if d.id == id {
			return d
		}
	}
	return nil
}

var simActive = []string{"Created", "Queued", "InProgress", "Ready"}

func (s *Sim) active() *simDeployment {
	for _, d := range s.deps {
		if slices.Contains(simActive, d.status) {
			return d
		}
	}
	return nil
}

// startRollback starts the rollback deployment of d, back to what serves.
func (s *Sim) startRollback(d *simDeployment) {
	td := ""
	if s.svc != nil {
		td = s.svc.primary.td
	}
	rb := s.addDeployment(td, "codeDeployRollback", "")
	rb.status = "InProgress"
	rb.rollbackOf = d
	d.rollbackID = rb.id
	if d.previous != nil { // traffic had moved: the rollback moves it back
		rb.td = d.previous.td
	}
}

// advance moves a deployment one step on, as time passing would.
func (s *Sim) advance(d *simDeployment) {
	d.looks++
	switch d.status {
	case "Created":
		d.status = "InProgress"
		d.looks = 0
	case "InProgress":
		if d.looks < s.Steps {
			return
		}
		if d.creator == "codeDeployRollback" {
			d.status = "Succeeded"
			if o := d.rollbackOf; o != nil && o.previous != nil && s.svc != nil {
				s.svc.primary = o.previous
			}
			return
		}
		if d.terminationWait { // the old tasks' termination wait
			if d.looks >= 2*s.Steps {
				d.status = "Succeeded"
			}
			return
		}
		if c, broken := s.crash[d.td]; broken {
			d.status, d.errCode = "Failed", "HEALTH_CONSTRAINTS"
			d.errMessage = "The deployment failed because the replacement task set did not become healthy: " + c.Reason
			s.startRollback(d)
			return
		}
		// All traffic moves to the new task set; the old one waits to be terminated.
		d.terminationWait = true
		if s.svc != nil {
			net := s.svc.primary.network
			if sub := d.spec.NetworkConfiguration.AwsvpcConfiguration; len(sub.Subnets) > 0 {
				net = map[string]any{"subnets": sub.Subnets, "securityGroups": sub.SecurityGroups, "assignPublicIp": sub.AssignPublicIp}
			}
			capacity := s.svc.primary.capacity
			if len(d.spec.CapacityProviderStrategy) > 0 {
				capacity = d.spec.CapacityProviderStrategy[0].CapacityProvider
			}
			d.previous = s.svc.primary
			s.svc.primary = s.newTaskSet(d.td, d.id, net, capacity, s.svc.primary.targetGroup+"-shifted")
		}
	}
}

func (s *Sim) info(d *simDeployment) map[string]any {
	info := map[string]any{
		"deploymentId": d.id, "status": d.status, "creator": d.creator,
		"applicationName": "app", "deploymentGroupName": "group",
		"instanceTerminationWaitTimeStarted": d.terminationWait,
	}
	if d.content != "" {
		info["revision"] = map[string]any{"revisionType": "AppSpecContent", "appSpecContent": map[string]any{"content": d.content}}
	}
	if d.errCode != "" {
		info["errorInformation"] = map[string]any{"code": d.errCode, "message": d.errMessage}
	}
	if d.rollbackID != "" {
		info["rollbackInfo"] = map[string]any{"rollbackDeploymentId": d.rollbackID}
	}
	return info
}

func notFound(typ, msg string) *Error { return &Error{Status: 400, Type: typ, Message: msg} }

func (s *Sim) getDeployment(body map[string]any) (any, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, e := s.deployment(body)
	if e != nil {
		return nil, e
	}
	s.advance(d)
	return map[string]any{"deploymentInfo": s.info(d)}, nil
}

func (s *Sim) listDeployments(body map[string]any) (any, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var want []string
	if l, ok := body["includeOnlyStatuses"].([]any); ok {
		for _, v := range l {
			want = append(want, fmt.Sprint(v))
		}
	}
	ids := []string{}
	for _, d := range s.deps {
		if len(want) == 0 || slices.Contains(want, d.status) {
			ids = append(ids, d.id)
		}
	}
	return map[string]any{"deployments": ids}, nil
}

func (s *Sim) createDeployment(body map[string]any) (any, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.races > 0 && s.active() == nil {
		s.addDeployment(s.raceTD, "user", "")
		s.races--
	}
	if a := s.active(); a != nil {
		return nil, &Error{Status: 400, Type: "DeploymentLimitExceededException",
			Message: fmt.Sprintf("The Deployment Group already has an active Deployment '%s'", a.id)}
	}
	rev, _ := body["revision"].(map[string]any)
	asc, _ := rev["appSpecContent"].(map[string]any)
	content, _ := asc["content"].(string)
	d := s.addDeployment("", "user", content)
	if d.td == "" {
		return nil, &Error{Status: 400, Type: "InvalidRevisionException", Message: "AppSpec has no TargetService TaskDefinition"}
	}
	if s.svc != nil && (d.spec.LoadBalancerInfo.ContainerName != s.svc.container || d.spec.LoadBalancerInfo.ContainerPort == 0) {
		d.status, d.errCode, d.errMessage = "Failed", "ECS_UPDATE_ERROR", "The load balancer container in the AppSpec does not match the service"
	}
	return map[string]any{"deploymentId": d.id}, nil
}

func (s *Sim) stopDeployment(body map[string]any) (any, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, e := s.deployment(body)
	if e != nil {
		return nil, e
	}
	if !slices.Contains(simActive, d.status) {
		return nil, &Error{Status: 400, Type: "DeploymentAlreadyCompletedException", Message: "the deployment is already completed"}
	}
	d.status, d.errCode, d.errMessage = "Stopped", "DEPLOYMENT_STOPPED", "The deployment was stopped by the user"
	if body["autoRollbackEnabled"] == true {
		s.startRollback(d)
	}
	return map[string]any{"status": "Pending", "statusMessage": "stopping"}, nil
}

func (s *Sim) listTargets(body map[string]any) (any, *Error) {
	return map[string]any{"targetIds": []string{"target"}}, nil
}

func (s *Sim) getTarget(body map[string]any) (any, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	green := 0.0
	if d := s.find(fmt.Sprint(body["deploymentId"])); d != nil && d.terminationWait {
		green = 100
	}
	return map[string]any{"deploymentTarget": map[string]any{"deploymentTargetType": "ECSTarget", "ecsTarget": map[string]any{
		"targetId": "target", "taskSetsInfo": []any{
			map[string]any{"taskSetLabel": "Blue", "trafficWeight": 100 - green},
			map[string]any{"taskSetLabel": "Green", "trafficWeight": green},
		},
	}}}, nil
}

// serviceFor answers for the service named in a request, or nil.
func (s *Sim) serviceFor(name any) *simService {
	if s.svc == nil {
		return nil
	}
	n := fmt.Sprint(name)
	if n == s.svc.name || strings.HasSuffix(n, "/"+s.svc.name) {
		return s.svc
	}
	return nil
}

func (s *Sim) taskSetJSON(ts *simTaskSet, withTags bool) map[string]any {
	running, pending, stability := s.svc.desired, int32(0), "STEADY_STATE"
	if ts.externalID == "" { // started by CreateService: judge by its revision
		if _, broken := s.crash[ts.td]; broken {
			running, pending, stability = 0, s.svc.desired, "STABILIZING"
		} else if ts.looks < s.Steps {
			running, pending, stability = 0, s.svc.desired, "STABILIZING"
		}
	}
	out := map[string]any{
		"id": ts.id, "taskSetArn": ts.arn, "status": "PRIMARY", "taskDefinition": ts.td,
		"computedDesiredCount": s.svc.desired, "runningCount": running, "pendingCount": pending,
		"stabilityStatus": stability, "platformVersion": "1.4.0",
		"networkConfiguration": map[string]any{"awsvpcConfiguration": ts.network},
		"loadBalancers":        []any{map[string]any{"targetGroupArn": ts.targetGroup, "containerName": s.svc.container, "containerPort": s.svc.port}},
	}
	if ts.externalID != "" {
		out["externalId"] = ts.externalID
	}
	if ts.capacity != "" {
		out["capacityProviderStrategy"] = []any{map[string]any{"capacityProvider": ts.capacity, "weight": 1, "base": 0}}
	}
	if withTags {
		tags := []any{}
		for k, v := range ts.tags {
			tags = append(tags, map[string]any{"key": k, "value": v})
		}
		out["tags"] = tags
	}
	return out
}

func (s *Sim) describeServices(body map[string]any) (any, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	names, _ := body["services"].([]any)
	if len(names) == 0 || s.serviceFor(names[0]) == nil {
		return map[string]any{"services": []any{}, "failures": []any{map[string]any{"reason": "MISSING"}}}, nil
	}
	ts := s.svc.primary
	if ts.externalID == "" {
		ts.looks++
		if c, broken := s.crash[ts.td]; broken { // each look, another task has crashed
			arn := s.next("arn:aws:ecs:ap-northeast-2:123456789012:task/" + s.svc.cluster + "/")
			s.tasks[arn] = &simTask{arn: arn, td: ts.td, startedBy: ts.id, reason: c.Reason, exit: c.ExitCode, stopped: true}
			s.taskOrder = append(s.taskOrder, arn)
		}
	}
	return map[string]any{"services": []any{map[string]any{
		"serviceName": s.svc.name, "clusterArn": s.svc.cluster, "status": "ACTIVE",
		"desiredCount": s.svc.desired, "taskDefinition": ts.td,
		"deploymentController": map[string]any{"type": "CODE_DEPLOY"},
		"taskSets":             []any{s.taskSetJSON(ts, false)},
	}}}, nil
}

func (s *Sim) describeTaskSets(body map[string]any) (any, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.serviceFor(body["service"]) == nil {
		return nil, notFound("ServiceNotFoundException", "service not found")
	}
	tags := false
	if inc, ok := body["include"].([]any); ok {
		tags = slices.Contains(inc, any("TAGS"))
	}
	out := []any{}
	if arns, _ := body["taskSets"].([]any); slices.Contains(arns, any(s.svc.primary.arn)) {
		out = append(out, s.taskSetJSON(s.svc.primary, tags))
	}
	return map[string]any{"taskSets": out}, nil
}

func (s *Sim) tagResource(body map[string]any) (any, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.svc == nil || body["resourceArn"] != s.svc.primary.arn {
		return nil, notFound("ResourceNotFoundException", "resource not found")
	}
	tags, _ := body["tags"].([]any)
	for _, t := range tags {
		m, _ := t.(map[string]any)
		s.svc.primary.tags[fmt.Sprint(m["key"])] = fmt.Sprint(m["value"])
	}
	return map[string]any{}, nil
}

func (s *Sim) listTasks(body map[string]any) (any, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	arns := []string{}
	if svc := s.serviceFor(body["serviceName"]); svc != nil && body["desiredStatus"] == "STOPPED" {
		for _, arn := range s.taskOrder {
			if t := s.tasks[arn]; t.stopped && strings.HasPrefix(t.startedBy, "ecs-svc/") {
				arns = append(arns, arn)
			}
		}
	}
	return map[string]any{"taskArns": arns}, nil
}

func (s *Sim) describeTasks(body map[string]any) (any, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	arns, _ := body["tasks"].([]any)
	out := []any{}
	for _, a := range arns {
		t, ok := s.tasks[fmt.Sprint(a)]
		if !ok {
			continue
		}
		if t.startedBy == "pulumi-migrate" && !t.stopped {
			if t.looks++; t.looks >= s.Steps {
				t.stopped, t.reason = true, "Essential container in task exited"
			}
		}
		task := map[string]any{"taskArn": t.arn, "taskDefinitionArn": t.td, "lastStatus": "RUNNING", "startedBy": t.startedBy}
		if t.stopped {
			task["lastStatus"], task["stoppedReason"] = "STOPPED", t.reason
			task["containers"] = []any{map[string]any{"name": "app", "exitCode": t.exit}, map[string]any{"name": "nginx", "exitCode": 0}}
		}
		out = append(out, task)
	}
	return map[string]any{"tasks": out}, nil
}

func (s *Sim) runTask(body map[string]any) (any, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	arn := s.next("arn:aws:ecs:ap-northeast-2:123456789012:task/migrate/")
	s.tasks[arn] = &simTask{arn: arn, td: fmt.Sprint(body["taskDefinition"]), startedBy: fmt.Sprint(body["startedBy"]), exit: s.MigrationExit}
	s.taskOrder = append(s.taskOrder, arn)
	return map[string]any{"tasks": []any{map[string]any{"taskArn": arn, "lastStatus": "PROVISIONING"}}}, nil
}
