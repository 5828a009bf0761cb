package infra

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecr"
	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// RegistryArgs configures NewRegistry.
type RegistryArgs struct {
	Images  ImagesConfig
	Protect bool
	Tags    pulumi.StringMap
}

// Registry holds the app and nginx repositories and the images built into them.
type Registry struct {
	pulumi.ResourceState

	App   *RepositoryImage
	Nginx *RepositoryImage
}

// RepositoryImage is one ECR repository and the image pushed to it.
type RepositoryImage struct {
	Repository *ecr.Repository
	Image      *docker.Image
	// Ref is the image by digest (repository@sha256:…): what the task definition
	// runs, so only a new build makes a new revision.
	Ref pulumi.StringOutput
}

// NewRegistry creates both repositories and builds and pushes both images.
func NewRegistry(ctx *pulumi.Context, name string, args *RegistryArgs, opts ...pulumi.ResourceOption) (*Registry, error) {
	r := &Registry{}
	if err := ctx.RegisterComponentResource("ecs-bluegreen:infra:Registry", name, r, opts...); err != nil {
		return nil, err
	}
	// Both repositories are in the account the program runs as, whose registry this
	// token opens. No input depends on a resource, so it is known in preview too.
	token := ecr.GetAuthorizationTokenOutput(ctx, ecr.GetAuthorizationTokenOutputArgs{}, pulumi.Parent(r))
	var err error
	if r.App, err = newRepositoryImage(ctx, r, name+"-app", args.Images.App, token, args); err != nil {
		return nil, err
	}
	if r.Nginx, err = newRepositoryImage(ctx, r, name+"-nginx", args.Images.Nginx, token, args); err != nil {
		return nil, err
	}
	return r, ctx.RegisterResourceOutputs(r, pulumi.Map{
		"appRepositoryUrl":   r.App.Repository.RepositoryUrl,
		"nginxRepositoryUrl": r.Nginx.Repository.RepositoryUrl,
		"appImage":           r.App.Ref,
		"nginxImage":         r.Nginx.Ref,
	})
}

func newRepositoryImage(ctx *pulumi.Context, parent pulumi.Resource, name string, build BuildConfig, token ecr.GetAuthorizationTokenResultOutput, args *RegistryArgs) (*RepositoryImage, error) {
	opts := []pulumi.ResourceOption{pulumi.Parent(parent), pulumi.Protect(args.Protect)}
	repo, err := ecr.NewRepository(ctx, name, &ecr.RepositoryArgs{
		// Immutable tags: a tag always means the same bytes, so tags are content hashes.
		ImageTagMutability:         pulumi.String("IMMUTABLE"),
		ImageScanningConfiguration: &ecr.RepositoryImageScanningConfigurationArgs{ScanOnPush: pulumi.Bool(true)},
		ForceDelete:                pulumi.Bool(!args.Protect),
		Tags:                       args.Tags,
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("creating repository %s: %w", name, err)
	}
	policy, err := lifecyclePolicy(args.Images.ImagesToKeep)
	if err != nil {
		return nil, err
	}
	if _, err := ecr.NewLifecyclePolicy(ctx, name, &ecr.LifecyclePolicyArgs{
		Repository: repo.Name,
		Policy:     pulumi.String(policy),
	}, pulumi.Parent(parent)); err != nil {
		return nil, fmt.Errorf("creating lifecycle policy %s: %w", name, err)
	}

	// docker builds a staged copy whose file modes do not depend on the umask of
	// the machine that checked the sources out (see StageBuild).
	staged, err := StageBuild(build, filepath.Join(StageDir, ctx.Stack(), name))
	if err != nil {
		return nil, fmt.Errorf("staging build context %s: %w", build.Context, err)
	}
	// The tag hashes the sources as staged (the executable bit is their only mode),
	// read from where they are: another run may be staging the same name meanwhile.
	tag, err := ImageTag(build, args.Images.Platform())
	if err != nil {
		return nil, fmt.Errorf("hashing build context %s: %w", build.Context, err)
	}
	buildArgs := &docker.DockerBuildArgs{
		Context:    pulumi.String(staged.Context),
		Dockerfile: pulumi.String(staged.Dockerfile),
		Platform:   pulumi.String(args.Images.Platform()),
	}
	if len(build.Args) > 0 { // absent rather than empty, so existing images see no diff
		buildArgs.Args = pulumi.ToStringMap(build.Args)
	}
	server := repo.RepositoryUrl.ApplyT(func(u string) string { return strings.SplitN(u, "/", 2)[0] }).(pulumi.StringOutput)
	img, err := docker.NewImage(ctx, name, &docker.ImageArgs{
		ImageName: pulumi.Sprintf("%s:%s", repo.RepositoryUrl, tag),
		Build:     buildArgs,
		Registry: &docker.RegistryArgs{
			Server:   server,
			Username: token.UserName(),
			Password: pulumi.ToSecret(token.Password()).(pulumi.StringOutput),
		},
	}, pulumi.Parent(parent))
	if err != nil {
		return nil, fmt.Errorf("building image %s: %w", name, err)
	}
	return &RepositoryImage{Repository: repo, Image: img, Ref: img.RepoDigest}, nil
}

// lifecyclePolicy keeps the newest n images of a repository and expires the rest.
func lifecyclePolicy(n int) (string, error) {
	type selection struct {
		TagStatus   string `json:"tagStatus"`
		CountType   string `json:"countType"`
		CountNumber int    `json:"countNumber"`
	}
	type rule struct {
		RulePriority int               `json:"rulePriority"`
		Description  string            `json:"description"`
		Selection    selection         `json:"selection"`
		Action       map[string]string `json:"action"`
	}
	b, err := json.Marshal(map[string][]rule{"rules": {{
		RulePriority: 1,
		Description:  fmt.Sprintf("keep the newest %d images", n),
		Selection:    selection{TagStatus: "any", CountType: "imageCountMoreThan", CountNumber: n},
		Action:       map[string]string{"type": "expire"},
	}}})
	return string(b), err
}

// ImageTag is the image's tag: a hash of everything the program controls that
// changes the pushed bytes — the build context as docker sends it (names, modes
// and contents), the Dockerfile's path and contents, the target platform and the
// build args. Equal inputs give an equal tag, so an unchanged build changes nothing;
// any change gives a new tag, which immutable repositories require (pushing new
// bytes under an existing tag fails with ImageTagAlreadyExistsException).
func ImageTag(b BuildConfig, platform string) (string, error) {
	h := sha256.New()
	// Framed fields, so no two different inputs can hash the same text.
	fmt.Fprintf(h, "platform\x00%s\x00dockerfile\x00%s\x00", platform, filepath.ToSlash(b.Dockerfile))
	for _, k := range sortedKeys(b.Args) {
		fmt.Fprintf(h, "arg\x00%s\x00%d\x00%s\x00", k, len(b.Args[k]), b.Args[k])
	}
	if err := hashContext(h, b.Context, b.Dockerfile); err != nil {
		return "", fmt.Errorf("hashing build context %s: %w", b.Context, err)
	}
	if err := hashFile(h, "\x00dockerfile", b.Dockerfile); err != nil {
		return "", fmt.Errorf("hashing Dockerfile %s: %w", b.Dockerfile, err)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// hashContext hashes the files docker sends for a context: those its .dockerignore
// does not exclude.
func hashContext(h io.Writer, contextDir, dockerfile string) error {
	return walkContext(contextDir, dockerfile, func(rel, path string) error { return hashFile(h, rel, path) })
}

// walkContext calls fn, in a stable order, for each file of a build context that
// its .dockerignore does not exclude, with its slash-separated relative name.
func walkContext(contextDir, dockerfile string, fn func(rel, path string) error) error {
	var patterns []string
	// A <Dockerfile>.dockerignore beside the Dockerfile wins over the context's
	// .dockerignore, as BuildKit and pulumi-docker (hashContext) read them.
	ignore := dockerfile + ".dockerignore"
	if _, err := os.Stat(ignore); dockerfile == "" || err != nil {
		ignore = filepath.Join(contextDir, ".dockerignore")
	}
	if f, err := os.Open(ignore); err == nil {
		patterns, err = ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("reading %s: %w", ignore, err)
		}
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return fmt.Errorf("reading .dockerignore: %w", err)
	}
	return filepath.WalkDir(contextDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(contextDir, path)
		if err != nil {
			return err
		}
		if skip, err := pm.MatchesOrParentMatches(rel); err != nil || skip {
			return err
		}
		return fn(filepath.ToSlash(rel), path)
	})
}

func hashFile(h io.Writer, name, path string) error {
	if target, err := os.Readlink(path); err == nil { // docker sends a symlink as one
		fmt.Fprintf(h, "%s\x00symlink\x00%d\x00%s", name, len(target), target)
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	// Name, executable bit and length frame each file: moving bytes between files,
	// or a chmod +x (COPY keeps modes, so the image changes), changes the hash. The
	// other permission bits depend on the umask of the checkout, not on the
	// sources; StageBuild normalises them before docker sees them.
	fmt.Fprintf(h, "%s\x00%s\x00%d\x00", name, normalMode(st.Mode()), st.Size())
	_, err = io.Copy(h, f)
	return err
}

// normalMode is the mode a staged file gets: git keeps only the executable bit,
// so two checkouts of one commit agree on exactly that.
func normalMode(m fs.FileMode) fs.FileMode {
	if m.Perm()&0o111 != 0 {
		return 0o755
	}
	return 0o644
}

// StageDir holds the staged build contexts, relative to the project directory
// (ignored by git). Its paths are stable, so an unchanged build shows no diff.
const StageDir = ".pulumi-build"

// stagedTime is every staged file's modification time: COPY keeps mtimes, and a
// checkout's are the time of the checkout.
var stagedTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// StageBuild copies what docker would send of a build context — the files its
// .dockerignore does not exclude — to dir, with normalised modes (0644, or 0755
// for executables) and a fixed modification time, and returns the build of that
// copy. The docker provider hashes each file's full mode to decide a rebuild
// (pulumi-docker v4.10.0, provider/provider.go hashPath), so building the sources
// as checked out would rebuild — and push new bytes under the same immutable tag,
// or with the mode in the tag, deploy again — whenever one machine's umask (002 on
// a workstation, 022 on a CI runner) differs from another's. A Dockerfile outside
// the context is staged beside it; symlinks stay symlinks. dir is replaced whole,
// under a lock. dir is per stack: a dev and a prod run of one checkout never
// share a staged copy.
func StageBuild(b BuildConfig, dir string) (BuildConfig, error) {
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return b, err
	}
	tmp, err := os.MkdirTemp(parent, filepath.Base(dir)+".tmp-")
	if err != nil {
		return b, err
	}
	defer os.RemoveAll(tmp)
	ctxDir := filepath.Join(tmp, "context")
	err = walkContext(b.Context, b.Dockerfile, func(rel, path string) error { return stageFile(path, filepath.Join(ctxDir, rel)) })
	if err != nil {
		return b, err
	}
	if err := os.MkdirAll(ctxDir, 0o755); err != nil { // an empty context still exists
		return b, err
	}
	staged := BuildConfig{Context: filepath.ToSlash(filepath.Join(dir, "context")), Args: b.Args}
	if rel, err := filepath.Rel(b.Context, b.Dockerfile); err == nil && filepath.IsLocal(rel) {
		staged.Dockerfile = filepath.ToSlash(filepath.Join(dir, "context", rel))
		if _, err := os.Stat(filepath.Join(ctxDir, rel)); err != nil { // excluded by .dockerignore: docker still reads it
			if err := stageFile(b.Dockerfile, filepath.Join(ctxDir, rel)); err != nil {
				return b, err
			}
		}
	} else {
		staged.Dockerfile = filepath.ToSlash(filepath.Join(dir, "Dockerfile"))
		if err := stageFile(b.Dockerfile, filepath.Join(tmp, "Dockerfile")); err != nil {
			return b, err
		}
	}
	// Swap the new copy in, one process at a time (two runs of one checkout).
	unlock, err := lockFile(dir + ".lock")
	if err != nil {
		return b, err
	}
	defer unlock()
	if err := os.RemoveAll(dir); err != nil {
		return b, err
	}
	return staged, os.Rename(tmp, dir)
}

func stageFile(src, dst string) error {
	if target, err := os.Readlink(src); err == nil {
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.Symlink(target, dst)
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	// Chmod, not the create mode, which the umask would narrow again.
	if err := os.Chmod(dst, normalMode(st.Mode())); err != nil {
		return err
	}
	return os.Chtimes(dst, stagedTime, stagedTime)
}
