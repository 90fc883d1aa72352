// Package apicompat describes the exported API of Go packages as flat
// lines, so that the API of our serf, coordinate and client packages can
// be compared with Serf's: a program written against
// github.com/hashicorp/serf must compile, unchanged but for its import
// paths, against ours.
//
// Packages are loaded from the compiler's export data ("go list -export"),
// so a module is type-checked exactly as the go command builds it, with
// the dependency versions its own go.mod selects.
package apicompat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/constant"
	"go/importer"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
)

// Load type-checks the packages named by patterns in the module at dir
// and returns them by import path.
func Load(dir string, patterns ...string) (map[string]*types.Package, error) {
	args := append([]string{"list", "-export", "-deps", "-json=ImportPath,Export,DepOnly,Error"}, patterns...)
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list in %s: %w\n%s", dir, err, stderr.String())
	}
	exports := make(map[string]string)
	var wanted []string
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath string
			Export     string
			DepOnly    bool
			Error      *struct{ Err string }
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("go list output: %w", err)
		}
		if p.Error != nil {
			return nil, fmt.Errorf("package %s: %s", p.ImportPath, p.Error.Err)
		}
		exports[p.ImportPath] = p.Export
		if !p.DepOnly {
			wanted = append(wanted, p.ImportPath)
		}
	}
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		file, ok := exports[path]
		if !ok || file == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(file)
	})
	pkgs := make(map[string]*types.Package)
	for _, path := range wanted {
		pkg, err := imp.Import(path)
		if err != nil {
			return nil, fmt.Errorf("import %s: %w", path, err)
		}
		pkgs[path] = pkg
	}
	return pkgs, nil
}

// API is a package's exported surface: a key per exported identifier,
// field and method ("Config.field MemberlistConfig", "*Serf.method Join"),
// and for each a description of its shape (kind, type, signature,
// typedness and value of constants).
type API map[string]string

// Describe returns the API of pkg. rename maps import path prefixes to
// neutral names, so that types of the two modules compared print alike
// ("github.com/hashicorp/serf/coordinate" and
// "github.com/openserf/serf/coordinate" both as "coordinate").
func Describe(pkg *types.Package, rename map[string]string) API {
	qual := func(p *types.Package) string {
		path := p.Path()
		for from, to := range rename {
			if path == from || strings.HasPrefix(path, from+"/") {
				return to + strings.TrimPrefix(path, from)
			}
		}
		return path
	}
	// The empty interface prints as "any" or "interface{}" depending on
	// how the source spelled it; they are one type.
	str := func(t types.Type) string {
		return strings.ReplaceAll(types.TypeString(normalize(t), qual), "interface{}", "any")
	}
	api := make(API)
	scope := pkg.Scope()
	for _, name := range scope.Names() {
		obj := scope.Lookup(name)
		if !obj.Exported() {
			continue
		}
		switch obj := obj.(type) {
		case *types.Const:
			api[name] = describeConst(obj, str)
		case *types.Var:
			api[name] = "var " + str(obj.Type())
		case *types.Func:
			api[name] = "func " + str(obj.Type())
		case *types.TypeName:
			describeType(api, obj, str)
		}
	}
	return api
}

func describeConst(c *types.Const, str func(types.Type) string) string {
	typ := str(c.Type())
	kind := "typed"
	if b, ok := c.Type().(*types.Basic); ok && b.Info()&types.IsUntyped != 0 {
		kind = "untyped"
	}
	val := c.Val().ExactString()
	if c.Val().Kind() == constant.String {
		val = c.Val().String()
	}
	return fmt.Sprintf("const %s %s = %s", kind, typ, val)
}

func describeType(api API, tn *types.TypeName, str func(types.Type) string) {
	name := tn.Name()
	if tn.IsAlias() {
		api[name] = "type alias = " + str(tn.Type())
		return
	}
	under := tn.Type().Underlying()
	switch u := under.(type) {
	case *types.Struct:
		api[name] = "type struct"
		for i := 0; i < u.NumFields(); i++ {
			f := u.Field(i)
			if !f.Exported() {
				continue
			}
			desc := str(f.Type())
			if f.Embedded() {
				desc = "embedded " + desc
			}
			if tag := u.Tag(i); tag != "" {
				desc += " `" + tag + "`"
			}
			api[name+".field "+f.Name()] = desc
		}
	case *types.Interface:
		api[name] = "type interface"
		for i := 0; i < u.NumMethods(); i++ {
			m := u.Method(i)
			if m.Exported() {
				api[name+".method "+m.Name()] = str(m.Type())
			}
		}
	default:
		api[name] = "type " + str(under)
	}
	if _, isInterface := under.(*types.Interface); isInterface {
		return
	}
	// The method sets of T and *T, promoted methods included: what a
	// caller can call on a value and on a pointer.
	for _, recv := range []types.Type{tn.Type(), types.NewPointer(tn.Type())} {
		prefix := name
		if _, ok := recv.(*types.Pointer); ok {
			prefix = "*" + name
		}
		ms := types.NewMethodSet(recv)
		for i := 0; i < ms.Len(); i++ {
			m := ms.At(i).Obj()
			if m.Exported() {
				api[prefix+".method "+m.Name()] = str(m.Type())
			}
		}
	}
}

// normalize rewrites t so that what a caller cannot tell apart prints
// alike: aliases become the types they stand for (any is interface{}),
// and parameters and results lose their names. Named types are kept as
// names; Describe compares their insides separately.
func normalize(t types.Type) types.Type {
	switch t := t.(type) {
	case *types.Alias:
		return normalize(types.Unalias(t))
	case *types.Pointer:
		return types.NewPointer(normalize(t.Elem()))
	case *types.Slice:
		return types.NewSlice(normalize(t.Elem()))
	case *types.Array:
		return types.NewArray(normalize(t.Elem()), t.Len())
	case *types.Map:
		return types.NewMap(normalize(t.Key()), normalize(t.Elem()))
	case *types.Chan:
		return types.NewChan(t.Dir(), normalize(t.Elem()))
	case *types.Signature:
		return types.NewSignatureType(nil, nil, nil, unnamed(t.Params()), unnamed(t.Results()), t.Variadic())
	case *types.Struct:
		fields := make([]*types.Var, t.NumFields())
		tags := make([]string, t.NumFields())
		for i := range fields {
			f := t.Field(i)
			fields[i] = types.NewField(token.NoPos, f.Pkg(), f.Name(), normalize(f.Type()), f.Embedded())
			tags[i] = t.Tag(i)
		}
		return types.NewStruct(fields, tags)
	}
	return t
}

func unnamed(tuple *types.Tuple) *types.Tuple {
	vars := make([]*types.Var, tuple.Len())
	for i := range vars {
		vars[i] = types.NewParam(token.NoPos, nil, "", normalize(tuple.At(i).Type()))
	}
	return types.NewTuple(vars...)
}

// Diff compares ours with theirs: missing lists what theirs has and ours
// lacks, changed what both have in different shapes ("key: theirs -> ours"),
// added what only ours has. Each is sorted.
func Diff(theirs, ours API) (missing, changed, added []string) {
	for k, v := range theirs {
		o, ok := ours[k]
		switch {
		case !ok:
			missing = append(missing, k+": "+v)
		case o != v:
			changed = append(changed, k+": "+v+" -> "+o)
		}
	}
	for k, v := range ours {
		if _, ok := theirs[k]; !ok {
			added = append(added, k+": "+v)
		}
	}
	sort.Strings(missing)
	sort.Strings(changed)
	sort.Strings(added)
	return missing, changed, added
}
