package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// StateStore is the part of SSM the rollout keeps its state in.
type StateStore interface {
	GetParameter(context.Context, *ssm.GetParameterInput, ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
	PutParameter(context.Context, *ssm.PutParameterInput, ...func(*ssm.Options)) (*ssm.PutParameterOutput, error)
}

// State is what the rollout remembers between runs, in an SSM String parameter
// that Pulumi does not manage (so neither a refresh nor an update removes it): the
// judgement of the first revision, which ECS started without a deployment, and a
// rollback made by hand that `pulumi up` must not quietly undo. ECS task sets
// cannot carry it: TagResource's API reference does not list them as taggable.
type State struct {
	// Judged is the first task set, judged healthy (its ARN).
	Judged *Judgement `json:"judged,omitempty"`
	// Rollback is the newest record of the day-N rollback command, Earlier the
	// ones before it that still refuse: each From no longer serves, and an `up`
	// that declares it (or its build) again is refused until a new revision is
	// deployed or the records are cleared.
	Rollback *RollbackRecord  `json:"rollback,omitempty"`
	Earlier  []RollbackRecord `json:"earlier,omitempty"`
	// Removed are the revisions day-N rollbacks took out, or failed to bring back,
	// newest last (a few): a later rollback never goes back to one of them.
	Removed []string `json:"removed,omitempty"`
}

// rolledBackKept is how many rolled-back revisions the state remembers.
const rolledBackKept = 10

// Record makes rec the newest rollback record: the one it replaces stays among
// Earlier, still refusing, unless it is the same rollback (the same From). A
// record's From is not kept among Removed too: RolledBack reads the records.
func (s *State) Record(rec RollbackRecord) {
	if old := s.Rollback; old != nil && old.To != "" && old.To == rec.From {
		rec.Restored = true // it serves only because the rollback before put it back
	}
	if old := s.Rollback; old != nil && old.From != rec.From && old.From != "" {
		s.Earlier = slices.DeleteFunc(s.Earlier, func(r RollbackRecord) bool { return r.From == old.From })
		s.Earlier = append(s.Earlier, old.lean())
		for len(s.Earlier) > rolledBackKept {
			s.Earlier, _ = dropEarlier(s.Earlier)
		}
	}
	s.Rollback = &rec
	s.Removed = slices.DeleteFunc(s.Removed, func(td string) bool { return td == rec.From })
}

// dropEarlier drops one earlier record when there are too many: the oldest of a
// revision that served only because an earlier rollback put it back (Restored:
// the steps of a chain of rollbacks), else the oldest but the first. What the
// code declares is a revision `pulumi up` deployed — the first record's, or
// one a later failed up brought (a record that is no step of a chain) — and a CI
// push of an unrelated change would deploy it again if its record went. It
// returns the records left and the one dropped.
func dropEarlier(earlier []RollbackRecord) ([]RollbackRecord, RollbackRecord) {
	i := slices.IndexFunc(earlier, func(r RollbackRecord) bool { return r.Restored })
	if i < 0 {
		i = min(1, len(earlier)-1)
	}
	return slices.Delete(slices.Clone(earlier), i, i+1), earlier[i]
}

// remove remembers a revision a rollback took out or could not bring back.
func (s *State) remove(td string) {
	if td != "" && !slices.Contains(s.Removed, td) {
		s.Removed = append(s.Removed, td)
		s.Removed = s.Removed[max(0, len(s.Removed)-rolledBackKept):]
	}
}

// Remove remembers a revision a rollback could not bring back.
func (s *State) Remove(td string) { s.remove(td) }

// served drops what a successful deployment of td made obsolete: the stack
// caught up with its code, so no rollback record refuses any more (unless td is
// the revision the newest record put back: the day-N rollback's own
// deployment), and td is no longer among the removed revisions. It tells
// whether anything changed.
func (s *State) served(td string) bool {
	changed := false
	if s.Rollback != nil && s.Rollback.To != td {
		// No record refuses any more, but a later rollback still passes over the
		// revisions they took out.
		records := s.records()
		for i := len(records) - 1; i >= 0; i-- { // oldest first: the newest stay longest
			s.remove(records[i].From)
		}
		s.Rollback, s.Earlier, changed = nil, nil, true
	}
	if i := slices.Index(s.Removed, td); i >= 0 {
		s.Removed, changed = slices.Delete(s.Removed, i, i+1), true
	}
	return changed
}

// Forget clears the rollback records: their revisions may be deployed, and
// rolled back to, again. It returns the newest.
func (s *State) Forget() *RollbackRecord {
	r := s.Rollback
	for _, rec := range s.records() {
		s.Removed = slices.DeleteFunc(s.Removed, func(td string) bool { return td == rec.From })
	}
	s.Rollback, s.Earlier = nil, nil
	return r
}

// records are the records that refuse, newest first.
func (s State) records() []RollbackRecord {
	var out []RollbackRecord
	if s.Rollback != nil {
		out = append(out, *s.Rollback)
	}
	for i := len(s.Earlier) - 1; i >= 0; i-- {
		out = append(out, s.Earlier[i])
	}
	return out
}

// RolledBack tells whether a rollback took td out.
func (s State) RolledBack(td string) bool {
	for _, r := range s.records() {
		if r.From == td {
			return true
		}
	}
	return slices.Contains(s.Removed, td)
}

// lean is what an earlier record needs: what it refuses (From, Image) and when,
// which is what `status` shows of it. The rest (To, Deployment, By) is the
// newest record's alone, so the state stays within SSM's limit (maxStateChars).
func (r RollbackRecord) lean() RollbackRecord {
	return RollbackRecord{From: r.From, Image: imageDigest(r.Image), At: r.At.Truncate(time.Second), Restored: r.Restored}
}

// imageDigest is an image reference's digest (sha256:…), which is what a build
// is: the repository part repeats in every record. A reference without one is
// kept whole.
func imageDigest(image string) string {
	if _, digest, ok := strings.Cut(image, "@"); ok {
		return digest
	}
	return image
}

// sameImage compares two app images by digest when both have one.
func sameImage(a, b string) bool {
	return a != "" && b != "" && imageDigest(a) == imageDigest(b)
}

// maxStateChars bounds the state parameter's value, so that it stays a Standard
// parameter (WriteState asks for Intelligent-Tiering, which picks Standard when
// the content fits): "Standard parameters have a content size limit of 4 KB"
// (PutParameter's Tier, SSM API reference), and a larger value is refused with
// ValidationException "Standard tier parameters support a maximum parameter
// value of 4096 characters…" (as AWS returns it, quoted in
// gist.github.com/seanpascual; seen 2026-12). The advanced tier holds 8 KB but is
// billed per parameter and month, and could not be reverted to Standard.
// Bytes are counted: never fewer than characters.
const maxStateChars = 4096

// bound is s marshalled within maxStateChars: earlier records kept lean, then
// the oldest removed revisions dropped (no refusal is lost, but a rollback may
// then go back to one: a revision that no longer starts, which fails and is
// rolled back, or one a cleared record had taken out), then earlier records in
// dropEarlier's order, the first last (the newest record and the judgement
// stay). It says what it dropped.
func (s State) bound() ([]byte, []string, error) {
	s.Earlier = slices.Clone(s.Earlier)
	for i := range s.Earlier {
		s.Earlier[i] = s.Earlier[i].lean()
	}
	var dropped []string
	for {
		b, err := json.Marshal(s)
		if err != nil || len(b) <= maxStateChars {
			return b, dropped, err
		}
		switch {
		case len(s.Removed) > 0: // no refusal is lost
			dropped = append(dropped, "removed revision "+shortARN(s.Removed[0])+" (a later rollback may go back to it)")
			s.Removed = s.Removed[1:]
		case len(s.Earlier) > 0:
			var r RollbackRecord
			s.Earlier, r = dropEarlier(s.Earlier)
			dropped = append(dropped, "the record of "+shortARN(r.From)+"'s rollback")
		default:
			return nil, dropped, fmt.Errorf("the rollout's state is %d characters, over SSM's Standard tier limit of %d, with no earlier record left to drop", len(b), maxStateChars)
		}
	}
}

// Judgement records that the first task set was judged healthy.
type Judgement struct {
	TaskSet        string    `json:"taskSet"`
	TaskDefinition string    `json:"taskDefinition"`
	At             time.Time `json:"at"`
}

// RollbackRecord records a rollback of the serving revision.
type RollbackRecord struct {
	From string `json:"from"` // the rolled-back task definition
	// Image is From's app image, when the rollback took that build out (To runs
	// another): a later revision with the same image, made by a change elsewhere
	// (an environment variable, CPU, nginx), is refused too.
	Image      string    `json:"image,omitempty"`
	To         string    `json:"to,omitempty"`         // what serves instead ("" until known)
	Deployment string    `json:"deployment,omitempty"` // the deployment that made To serve
	At         time.Time `json:"at"`
	By         string    `json:"by,omitempty"` // who, as AWS named the caller
	// Restored: From served only because the rollback before this one put it
	// back (a step of a chain of rollbacks), so `pulumi up` did not deploy it
	// last; such records go first when there are too many.
	Restored bool `json:"restored,omitempty"`
	// Pending: the rollback was started and not seen to end (the command was
	// interrupted, or it timed out): CodeDeploy carries on, and the record
	// already refuses From.
	Pending bool `json:"pending,omitempty"`
}

// judged tells whether taskSet is the judged first task set.
func (s State) judged(taskSet string) bool { return s.Judged != nil && s.Judged.TaskSet == taskSet }

// Blocks tells whether a record refuses a deployment of td, whose app image is
// image, and which.
func (s State) Blocks(td, image string) (RollbackRecord, bool) {
	for _, r := range s.records() {
		if r.From == td || sameImage(r.Image, image) {
			return r, true
		}
	}
	return RollbackRecord{}, false
}

// RefusesImages tells whether a record refuses a build (its image), not only
// its revision.
func (s State) RefusesImages() bool {
	for _, r := range s.records() {
		if r.Image != "" {
			return true
		}
	}
	return false
}

// BlockedError is the refusal of a rolled-back revision.
type BlockedError struct {
	Service string
	Record  RollbackRecord
	// Declared is the refused revision, Clear the command that clears the record.
	Declared, Clear string
}

func (e *BlockedError) Error() string {
	r := e.Record
	what := fmt.Sprintf("revision %s of service %s was rolled back", shortARN(r.From), e.Service)
	fix := "change the code (a new build makes a new revision)"
	if e.Declared != "" && e.Declared != r.From {
		what = fmt.Sprintf("revision %s of service %s runs the app image %s of revision %s, which was rolled back", shortARN(e.Declared), e.Service, ShortImage(r.Image), shortARN(r.From))
		fix = "change the app (a new build makes a new image)"
	}
	msg := what + " at " + r.At.UTC().Format(time.RFC3339)
	switch {
	case r.Pending:
		msg += " (the rollback"
		if r.Deployment != "" {
			msg += " by deployment " + r.Deployment
		}
		msg += " was not seen to end: check `ops status`)"
	case r.To != "":
		msg += fmt.Sprintf(" (to %s by deployment %s)", shortARN(r.To), r.Deployment)
	}
	if r.By != "" {
		msg += " by " + r.By
	}
	msg += "; it is not deployed again: " + fix
	if e.Clear != "" {
		msg += ", or clear the record with `" + e.Clear + "`"
	}
	return msg
}

// ShortImage is an image's digest, shortened ("sha256:0123456789ab"), or its
// reference when it has none.
func ShortImage(image string) string {
	if _, digest, ok := strings.Cut(image, "@"); ok {
		image = digest
	}
	if strings.HasPrefix(image, "sha256:") { // a reference's digest, or an earlier record's
		return image[:min(len(image), len("sha256:")+12)]
	}
	return image
}

// ReadState reads the state parameter; a missing parameter is the empty state.
func ReadState(ctx context.Context, store StateStore, name string) (State, error) {
	var s State
	if store == nil || name == "" {
		return s, nil
	}
	out, err := store.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)})
	var missing *ssmtypes.ParameterNotFound
	if errors.As(err, &missing) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("failed to read the rollout's state %s: %w", name, err)
	}
	if out.Parameter == nil {
		return s, nil
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.Parameter.Value)), &s); err != nil {
		return s, fmt.Errorf("rollout state %s is not ours (%v): delete it to start afresh", name, err)
	}
	return s, nil
}

// WriteState replaces the state parameter, bounded to what a Standard parameter
// holds (bound); what it had to drop is said on log (when not nil).
func WriteState(ctx context.Context, store StateStore, name string, s State, log Logger) error {
	if store == nil || name == "" {
		return nil
	}
	b, dropped, err := s.bound()
	if err != nil {
		return fmt.Errorf("failed to write the rollout's state %s: %w", name, err)
	}
	if len(dropped) > 0 && log != nil {
		log.Info(fmt.Sprintf("the rollout's state %s would outgrow SSM's %d-character limit: dropping %s", name, maxStateChars, strings.Join(dropped, ", ")))
	}
	put := func(tier ssmtypes.ParameterTier) error {
		_, err := store.PutParameter(ctx, &ssm.PutParameterInput{
			Name: aws.String(name), Value: aws.String(string(b)), Type: ssmtypes.ParameterTypeString, Overwrite: aws.Bool(true),
			Tier:        tier,
			Description: aws.String("ecs-bluegreen rollout state: the judged first revision and rollbacks made by hand (written by the rollout, not by Pulumi)"),
		})
		return err
	}
	// Not the account's default tier, which may be Advanced (billed, and never
	// back to Standard): Intelligent-Tiering makes a parameter Standard unless
	// its content needs Advanced (PutParameter's Tier, SSM API reference), and
	// bound keeps the content within Standard's 4 KB.
	err = put(ssmtypes.ParameterTierIntelligentTiering)
	if err != nil && strings.Contains(err.Error(), "downgrade") {
		// Already Advanced (an account default of Advanced made it so): it stays.
		if err = put(ssmtypes.ParameterTierAdvanced); err == nil && log != nil {
			log.Info(fmt.Sprintf("the rollout's state %s is an advanced-tier parameter (billed monthly), which SSM cannot make Standard again: delete it once to have it recreated as a Standard one", name))
		}
	}
	if err != nil {
		return fmt.Errorf("failed to write the rollout's state %s: %w", name, err)
	}
	return nil
}
