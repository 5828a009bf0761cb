package main

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"ecs-bluegreen/infra"
)

// TestImageTag checks the image tag: stable for the same sources, new for any
// change of the bytes docker would push (so an immutable repository never sees new
// bytes under an old tag), blind to what .dockerignore excludes.
func TestImageTag(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	build := infra.BuildConfig{Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile")}
	platform := "linux/amd64"
	hash := func() string {
		t.Helper()
		h, err := infra.ImageTag(build, platform)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	write("Dockerfile", "FROM scratch\n")
	write("Dockerfile.alt", "FROM scratch\n")
	write(".dockerignore", "__pycache__\n**/*.pyc\n")
	write("app/a.py", "print(1)\n")
	write("app/b.py", "print(2)\n")
	base := hash()
	if len(base) != 16 {
		t.Fatalf("tag %q, want 16 hex characters", base)
	}
	if again := hash(); again != base {
		t.Fatalf("same sources, different tags %s and %s", base, again)
	}

	// A workstation's umask 002 checks files out group-writable, a runner's 022
	// not: the sources are the same, so the tag is too.
	if err := os.Chmod(filepath.Join(dir, "app/b.py"), 0o664); err != nil {
		t.Fatal(err)
	}
	if h := hash(); h != base {
		t.Errorf("a group-writable checkout changed the tag: %s -> %s", base, h)
	}

	write("app/__pycache__/a.cpython-311.pyc", "bytecode")
	write("app/c.pyc", "bytecode")
	if h := hash(); h != base {
		t.Errorf("ignored files changed the tag: %s -> %s", base, h)
	}

	// Each step changes what docker builds or pushes; each must give a tag never seen before.
	steps := []struct {
		what   string
		change func()
	}{
		{"edit a file", func() { write("app/a.py", "print(10)\n") }},
		{"move bytes between files", func() { write("app/a.py", "print(10)\nprint(2)\n"); write("app/b.py", "") }},
		{"add a file", func() { write("app/new.py", "") }},
		{"change the Dockerfile", func() { write("Dockerfile", "FROM busybox\n") }},
		{"rename a file", func() { os.Rename(filepath.Join(dir, "app/new.py"), filepath.Join(dir, "app/renamed.py")) }},
		{"chmod +x a file", func() { os.Chmod(filepath.Join(dir, "app/a.py"), 0o755) }},
		{"build for another platform", func() { platform = "linux/arm64" }},
		{"another Dockerfile path with the same contents", func() {
			write("Dockerfile.alt", "FROM busybox\n")
			build.Dockerfile = filepath.Join(dir, "Dockerfile.alt")
		}},
		{"a build arg", func() { build.Args = map[string]string{"PYTHON": "3.12"} }},
		{"another value of the build arg", func() { build.Args = map[string]string{"PYTHON": "3.13"} }},
	}
	seen := map[string]string{base: "start"}
	for _, s := range steps {
		s.change()
		h := hash()
		if prev, dup := seen[h]; dup {
			t.Errorf("%s: tag %s equals the tag after %q", s.what, h, prev)
		}
		seen[h] = s.what
	}

	if _, err := infra.ImageTag(infra.BuildConfig{Context: filepath.Join(dir, "missing"), Dockerfile: build.Dockerfile}, platform); err == nil {
		t.Error("no error for a missing context")
	}
}

// TestStageBuild: docker builds a copy of the context as docker would send it,
// with modes that do not depend on the checkout's umask, and a stable path.
func TestStageBuild(t *testing.T) {
	src, out := t.TempDir(), filepath.Join(t.TempDir(), ".pulumi-build", "web-app")
	write := func(name, content string, mode os.FileMode) {
		t.Helper()
		p := filepath.Join(src, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o775); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	write("Dockerfile", "FROM scratch\n", 0o664)
	write(".dockerignore", "**/*.pyc\n", 0o664)
	write("app/run.sh", "#!/bin/sh\n", 0o775)
	write("app/a.py", "print(1)\n", 0o664)
	write("app/a.pyc", "bytecode", 0o664)
	external := filepath.Join(t.TempDir(), "Dockerfile.prod")
	if err := os.WriteFile(external, []byte("FROM busybox\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	staged, err := infra.StageBuild(infra.BuildConfig{Context: src, Dockerfile: filepath.Join(src, "Dockerfile")}, out)
	if err != nil {
		t.Fatal(err)
	}
	if staged.Context != filepath.ToSlash(filepath.Join(out, "context")) || staged.Dockerfile != filepath.ToSlash(filepath.Join(out, "context", "Dockerfile")) {
		t.Errorf("staged %+v", staged)
	}
	for name, want := range map[string]os.FileMode{"Dockerfile": 0o644, ".dockerignore": 0o644, "app/run.sh": 0o755, "app/a.py": 0o644} {
		st, err := os.Stat(filepath.Join(out, "context", name))
		if err != nil {
			t.Errorf("%s not staged: %v", name, err)
			continue
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s staged with mode %o, want %o", name, st.Mode().Perm(), want)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "context", "app/a.pyc")); err == nil {
		t.Error("an ignored file was staged")
	}

	// Staged again after a file was removed and with a Dockerfile outside the
	// context: no stale file survives, and the Dockerfile is staged beside it.
	if err := os.Remove(filepath.Join(src, "app/a.py")); err != nil {
		t.Fatal(err)
	}
	staged, err = infra.StageBuild(infra.BuildConfig{Context: src, Dockerfile: external}, out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "context", "app/a.py")); err == nil {
		t.Error("a removed file stayed in the staged context")
	}
	if b, err := os.ReadFile(staged.Dockerfile); err != nil || string(b) != "FROM busybox\n" || staged.Dockerfile != filepath.ToSlash(filepath.Join(out, "Dockerfile")) {
		t.Errorf("external Dockerfile staged at %s: %q, %v", staged.Dockerfile, b, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !reflect.DeepEqual(names, []string{"web-app", "web-app.lock"}) {
		t.Errorf("staging left %v beside %s, want only the copy and its lock", names, out)
	}

	// A <Dockerfile>.dockerignore wins over the context's; symlinks stay symlinks.
	dockerfile := filepath.Join(src, "Dockerfile")
	write("Dockerfile.dockerignore", "app/secret.txt\n", 0o644)
	write("app/secret.txt", "s3cr3t", 0o644)
	if err := os.Symlink("run.sh", filepath.Join(src, "app/start.sh")); err != nil {
		t.Fatal(err)
	}
	if _, err := infra.StageBuild(infra.BuildConfig{Context: src, Dockerfile: dockerfile}, out); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "context", "app/secret.txt")); err == nil {
		t.Error("the Dockerfile's own .dockerignore was not applied")
	}
	if _, err := os.Stat(filepath.Join(out, "context", "app/a.pyc")); err != nil {
		t.Error("the context's .dockerignore was applied although the Dockerfile has its own")
	}
	if target, err := os.Readlink(filepath.Join(out, "context", "app/start.sh")); err != nil || target != "run.sh" {
		t.Errorf("symlink staged as %q, %v", target, err)
	}
}
