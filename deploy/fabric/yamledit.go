package fabric

import (
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// yamlDoc is a YAML document edited in place: values are replaced by key
// path, comments and key order of the original survive, so the generated
// core.yaml and orderer.yaml still read like Fabric's samples with our
// changes in them.
type yamlDoc struct {
	root *yaml.Node // the document's top-level mapping
}

func loadYAML(file string) (*yamlDoc, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return parseYAML(b)
}

func parseYAML(b []byte) (*yamlDoc, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%w: YAML document is not a mapping", ErrConfig)
	}
	return &yamlDoc{root: doc.Content[0]}, nil
}

// set replaces (or adds) the value at a dotted key path such as
// "peer.gossip.bootstrap". Intermediate mappings are created when missing.
func (d *yamlDoc) set(path string, value any) error {
	var v yaml.Node
	if err := v.Encode(value); err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	node := d.root
	keys := strings.Split(path, ".")
	for i, k := range keys {
		if node.Kind != yaml.MappingNode {
			return fmt.Errorf("%w: %s: %s is not a mapping", ErrConfig, path, strings.Join(keys[:i], "."))
		}
		child := mappingValue(node, k)
		if i == len(keys)-1 {
			if child == nil {
				node.Content = append(node.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}, &v)
				return nil
			}
			// Keep the comment attached to the old value.
			v.LineComment, v.HeadComment, v.FootComment = child.LineComment, child.HeadComment, child.FootComment
			*child = v
			return nil
		}
		if child == nil {
			child = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			node.Content = append(node.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}, child)
		} else if child.Kind == yaml.ScalarNode && child.Value == "" {
			// An empty key ("endpoint:") becomes a mapping.
			*child = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		}
		node = child
	}
	return nil
}

// setAll applies set for every entry of values.
func (d *yamlDoc) setAll(values map[string]any) error {
	for path, v := range values {
		if err := d.set(path, v); err != nil {
			return err
		}
	}
	return nil
}

// get returns the scalar value at a dotted key path, for tests and checks.
func (d *yamlDoc) get(path string) (string, bool) {
	node := d.root
	for _, k := range strings.Split(path, ".") {
		if node.Kind != yaml.MappingNode {
			return "", false
		}
		if node = mappingValue(node, k); node == nil {
			return "", false
		}
	}
	return node.Value, node.Kind == yaml.ScalarNode
}

func (d *yamlDoc) write(file string) error {
	b, err := yaml.Marshal(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{d.root}})
	if err != nil {
		return err
	}
	return os.WriteFile(file, b, 0o644)
}

// mappingValue returns the value node of key k in mapping m, or nil. Keys
// match exactly: Fabric's YAML files are case-consistent, and Viper's
// case-insensitivity would make a near-miss silently add a second key.
func mappingValue(m *yaml.Node, k string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == k {
			return m.Content[i+1]
		}
	}
	return nil
}
