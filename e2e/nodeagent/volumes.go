package nodeagent

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// volumeWriter materializes a pod's volumes as host directories under the pod's directory;
// the sandbox then binds them at their mountPaths.
type volumeWriter struct {
	refs     refs
	client   kubernetes.Interface
	capacity v1.ResourceList
}

// file is one file of a generated volume.
type file struct {
	data []byte
	mode os.FileMode
}

// write creates or refreshes every volume of the pod under root and returns each volume's
// host path by name. ConfigMap, Secret and downward-API contents are rewritten when they
// change, as kubelet eventually does; a service-account token is requested once. mounting
// is true on the pod's first write by this agent process: as when kubelet mounts a volume,
// an existing emptyDir (a pod that outlived an agent restart) is then given to the fsGroup
// throughout.
func (w volumeWriter) write(ctx context.Context, pod *v1.Pod, podIP, hostIP, root string, mounting bool) (map[string]string, error) {
	paths := map[string]string{}
	// With an fsGroup, volumes belong to that group, as kubelet's volume ownership does: files
	// gain group (and owner) read, directories the setgid bit so new files join the group.
	gid := -1
	if psc := pod.Spec.SecurityContext; psc != nil && psc.FSGroup != nil {
		gid = int(*psc.FSGroup)
	}
	for i := range pod.Spec.Volumes {
		vol := &pod.Spec.Volumes[i]
		dir := filepath.Join(root, vol.Name)
		paths[vol.Name] = dir
		if vol.EmptyDir != nil {
			if err := emptyDir(dir, gid); err != nil {
				return nil, fmt.Errorf("volume %q: %w", vol.Name, err)
			}
			if mounting && gid >= 0 {
				if err := chownTree(dir, gid); err != nil {
					return nil, fmt.Errorf("volume %q: %w", vol.Name, err)
				}
			}
			continue
		}
		files, err := w.files(ctx, pod, vol, podIP, hostIP, dir)
		if err != nil {
			return nil, fmt.Errorf("volume %q: %w", vol.Name, err)
		}
		if gid >= 0 {
			for k, f := range files {
				f.mode |= 0o440
				files[k] = f
			}
		}
		if err := syncDir(dir, files, gid); err != nil {
			return nil, fmt.Errorf("volume %q: %w", vol.Name, err)
		}
	}
	return paths, nil
}

// files computes the contents of a generated volume, keyed by path relative to the volume.
func (w volumeWriter) files(ctx context.Context, pod *v1.Pod, vol *v1.Volume, podIP, hostIP, dir string) (map[string]file, error) {
	files := map[string]file{}
	switch {
	case vol.ConfigMap != nil:
		src := vol.ConfigMap
		err := w.keyFiles(files, w.refs.configMapData, pod.Namespace, src.Name, src.Items, src.DefaultMode, src.Optional)
		return files, err
	case vol.Secret != nil:
		src := vol.Secret
		err := w.keyFiles(files, w.refs.secretData, pod.Namespace, src.SecretName, src.Items, src.DefaultMode, src.Optional)
		return files, err
	case vol.DownwardAPI != nil:
		err := w.downwardFiles(files, pod, vol.DownwardAPI.Items, vol.DownwardAPI.DefaultMode, podIP, hostIP)
		return files, err
	case vol.Projected != nil:
		for _, s := range vol.Projected.Sources {
			var err error
			switch {
			case s.ConfigMap != nil:
				err = w.keyFiles(files, w.refs.configMapData, pod.Namespace, s.ConfigMap.Name, s.ConfigMap.Items, vol.Projected.DefaultMode, s.ConfigMap.Optional)
			case s.Secret != nil:
				err = w.keyFiles(files, w.refs.secretData, pod.Namespace, s.Secret.Name, s.Secret.Items, vol.Projected.DefaultMode, s.Secret.Optional)
			case s.DownwardAPI != nil:
				err = w.downwardFiles(files, pod, s.DownwardAPI.Items, vol.Projected.DefaultMode, podIP, hostIP)
			case s.ServiceAccountToken != nil:
				err = w.tokenFile(ctx, files, pod, s.ServiceAccountToken, vol.Projected.DefaultMode, dir)
			default:
				err = fmt.Errorf("unsupported projected source")
			}
			if err != nil {
				return nil, err
			}
		}
		return files, nil
	}
	return nil, fmt.Errorf("unsupported volume type (this node supports configMap, secret, emptyDir, downwardAPI and projected)")
}

func modeOr(m *int32, def os.FileMode) os.FileMode {
	if m == nil {
		return def
	}
	return os.FileMode(*m) & 0o777
}

// keyFiles adds the keys of a ConfigMap or Secret (all of them, or the listed items).
func (w volumeWriter) keyFiles(files map[string]file, get func(ns, name string) (map[string][]byte, error), ns, name string, items []v1.KeyToPath, defaultMode *int32, optional *bool) error {
	data, err := get(ns, name)
	if err != nil {
		if optional != nil && *optional && apierrors.IsNotFound(err) {
			return nil
		}
		return err
	}
	mode := modeOr(defaultMode, 0o644)
	if len(items) == 0 {
		for k, v := range data {
			files[k] = file{data: v, mode: mode}
		}
		return nil
	}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			if optional != nil && *optional {
				continue
			}
			return fmt.Errorf("%s/%s has no key %q", ns, name, it.Key)
		}
		files[it.Path] = file{data: v, mode: modeOr(it.Mode, mode)}
	}
	return nil
}

// downwardFiles adds downward-API items: pod fields and container resources.
func (w volumeWriter) downwardFiles(files map[string]file, pod *v1.Pod, items []v1.DownwardAPIVolumeFile, defaultMode *int32, podIP, hostIP string) error {
	mode := modeOr(defaultMode, 0o644)
	for _, it := range items {
		var v string
		var err error
		switch {
		case it.FieldRef != nil:
			v, err = fieldValue(pod, podIP, hostIP, it.FieldRef.FieldPath)
		case it.ResourceFieldRef != nil:
			v, err = resourceValue(pod, "", it.ResourceFieldRef, w.capacity)
		default:
			err = fmt.Errorf("item %q has no source", it.Path)
		}
		if err != nil {
			return err
		}
		files[it.Path] = file{data: []byte(v), mode: modeOr(it.Mode, mode)}
	}
	return nil
}

// tokenFile adds a service-account token bound to the pod. It is requested once per pod and
// kept: the API server extends the lifetime of such tokens, and a pod here lives briefly.
func (w volumeWriter) tokenFile(ctx context.Context, files map[string]file, pod *v1.Pod, src *v1.ServiceAccountTokenProjection, defaultMode *int32, dir string) error {
	mode := modeOr(defaultMode, 0o644)
	if data, err := os.ReadFile(filepath.Join(dir, src.Path)); err == nil && len(data) > 0 {
		files[src.Path] = file{data: data, mode: mode}
		return nil
	}
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: src.ExpirationSeconds,
		BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
	}}
	if src.Audience != "" {
		req.Spec.Audiences = []string{src.Audience}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tr, err := w.client.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, sa, req, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("requesting a token for service account %s/%s: %w", pod.Namespace, sa, err)
	}
	files[src.Path] = file{data: []byte(tr.Status.Token), mode: mode}
	return nil
}

// emptyDir creates an emptyDir volume: world-writable like kubelet's, and with an fsGroup
// owned by that group with the setgid bit.
func emptyDir(dir string, gid int) error {
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return err
	}
	return ownDir(dir, 0o777, gid)
}

// chownTree gives everything below dir to group gid the way kubelet's volume ownership does:
// files gain group read and write, directories group access and the setgid bit.
func chownTree(dir string, gid int) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir || d.Type()&fs.ModeSymlink != 0 {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if err := os.Lchown(p, -1, gid); err != nil {
			return err
		}
		mode := info.Mode() | 0o660
		if d.IsDir() {
			mode |= 0o110 | os.ModeSetgid
		}
		return os.Chmod(p, mode&(os.ModePerm|os.ModeSetgid|os.ModeSetuid|os.ModeSticky))
	})
}

// ownDir sets a volume directory's mode, and its group when gid is not -1 (then with setgid).
func ownDir(dir string, mode os.FileMode, gid int) error {
	if gid >= 0 {
		if err := os.Lchown(dir, -1, gid); err != nil {
			return err
		}
		mode |= os.ModeSetgid
	}
	return os.Chmod(dir, mode)
}

// syncDir makes dir hold exactly files: changed files are replaced atomically (write and
// rename), unchanged ones are left alone, and files no longer wanted are removed. With gid
// other than -1, the directories and files belong to that group.
func syncDir(dir string, files map[string]file, gid int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := ownDir(dir, 0o755, gid); err != nil {
		return err
	}
	for rel, f := range files {
		clean := filepath.Clean(rel)
		if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
			return fmt.Errorf("volume path %q leaves the volume", rel)
		}
		p := filepath.Join(dir, clean)
		if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, f.data) {
			if st, err := os.Stat(p); err == nil && st.Mode().Perm() == f.mode && (gid < 0 || fileGID(st) == gid) {
				continue
			}
		}
		for d := filepath.Dir(p); d != dir; d = filepath.Dir(d) {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return err
			}
			if err := ownDir(d, 0o755, gid); err != nil {
				return err
			}
		}
		tmp := filepath.Join(filepath.Dir(p), ".tmp-"+filepath.Base(p))
		if err := os.WriteFile(tmp, f.data, f.mode); err != nil {
			return err
		}
		if gid >= 0 {
			if err := os.Lchown(tmp, -1, gid); err != nil {
				return err
			}
		}
		if err := os.Chmod(tmp, f.mode); err != nil {
			return err
		}
		if err := os.Rename(tmp, p); err != nil {
			return err
		}
	}
	var stale []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if _, ok := files[rel]; !ok {
			stale = append(stale, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(stale)
	for _, p := range stale {
		if err := os.Remove(p); err != nil {
			return err
		}
	}
	return nil
}

func fileGID(st os.FileInfo) int {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return int(sys.Gid)
	}
	return -1
}
