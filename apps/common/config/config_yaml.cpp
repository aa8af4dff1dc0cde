// Reading YAML into the config tree with yaml-cpp. Only the parser is used: typing of plain
// scalars is ours (parse_plain_scalar), so files, overrides and dumps agree on what `1e-2` is.
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <sstream>

#include "common/config/config_compose.h"
#include "tensor/error.h"

namespace difflut::app {

namespace {

// Finds the first anchor or alias of the first document. Configs refuse both: yaml-cpp shares an
// aliased node, but converting it to our tree copies it at every use, so a few lines of nested
// aliases (a "billion laughs") expand to gigabytes; no config needs them.
class AliasFinder : public YAML::EventHandler {
 public:
  struct Found {
    YAML::Mark mark;
    std::string what;
  };
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override {
    throw Found{mark, "an alias (*name)"};
  }
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
  void OnAnchor(const YAML::Mark& mark, const std::string& name) override {
    throw Found{mark, "an anchor (&" + name + ")"};
  }
};

void reject_anchors_and_aliases(const std::string& text, const std::string& source) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  AliasFinder finder;
  try {
    parser.HandleNextDocument(finder);
  } catch (const AliasFinder::Found& f) {
    DIFFLUT_FAIL(source, ":", f.mark.line + 1, ": ", f.what, kNoAliasesNote);
  }
}

ConfigNode convert(const YAML::Node& node, const std::string& source) {
  const auto where = [&](const YAML::Node& n) { return str_cat(source, ":", n.Mark().line + 1); };
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null: return ConfigNode::null();
    case YAML::NodeType::Scalar: {
      // yaml-cpp tags plain scalars "?" and quoted ones "!"; an explicit !!str keeps the text.
      const std::string& tag = node.Tag();
      if (tag == "!" || tag == "tag:yaml.org,2002:str") return ConfigNode::string(node.Scalar());
      DIFFLUT_CHECK(tag == "?" || tag.empty(), where(node), ": unsupported YAML tag '", tag, "'");
      return parse_plain_scalar(node.Scalar());
    }
    case YAML::NodeType::Sequence: {
      std::vector<ConfigNode> items;
      for (const YAML::Node& item : node) items.push_back(convert(item, source));
      return ConfigNode::list(std::move(items));
    }
    case YAML::NodeType::Map: {
      ConfigNode map = ConfigNode::map();
      for (const auto& kv : node) {
        DIFFLUT_CHECK(kv.first.IsScalar(), where(kv.first), ": expected a plain key, found a ",
                      kv.first.IsMap() ? "map" : "list");
        const std::string key = kv.first.Scalar();
        DIFFLUT_CHECK(!map.find(key), where(kv.first), ": duplicate key '", key, "'");
        DIFFLUT_CHECK(key.find('.') == std::string::npos, where(kv.first), ": key '", key,
                      "' contains '.', which separates the parts of dotted keys");
        map.set(key, convert(kv.second, source));
      }
      return map;
    }
  }
  return ConfigNode::null();
}

}  // namespace

ConfigNode parse_yaml_string(const std::string& text, const std::string& source) {
  YAML::Node root;
  try {
    reject_anchors_and_aliases(text, source);
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    DIFFLUT_FAIL(source, ":", e.mark.line + 1, ":", e.mark.column + 1,
                 ": YAML syntax error: ", e.msg);
  }
  return convert(root, source);
}

ConfigNode load_yaml_file(const std::string& path) {
  return parse_yaml_string(read_config_text(path), path);
}

}  // namespace difflut::app
