// Command-line splitting for the apps: flags (--config-dir DIR, --config-name NAME, -m, --help,
// --print-config) versus Hydra-style `key=value` overrides, plus the --help text.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace difflut::app {

struct CliArgs {
  bool help = false;
  bool multirun = false;      // -m / --multirun: overrides may hold comma-separated sweeps
  bool print_config = false;  // --print-config: print the resolved config and exit
  std::optional<std::string> config_dir;   // --config-dir DIR or --config-dir=DIR
  std::string config_name = "experiment";  // --config-name NAME (configs/NAME.yaml)
  std::vector<std::string> overrides;      // every key=value / group=option, in order
};

// Splits argv[1..argc). Flags may stand anywhere. Throws difflut::Error for an unknown flag, a
// flag missing its value, or an argument that is neither a flag nor key=value.
CliArgs parse_cli(int argc, const char* const* argv);

// Walks the arguments of the small apps (difflut-query, difflut-plot): each step yields one
// argument; a `--flag=value` argument is split, and value() returns the inline value or consumes
// the following argument (an Error names the flag when there is none, or when the following
// argument is itself an option: "--out --verify").
class FlagCursor {
 public:
  FlagCursor(int argc, char** argv) : argc_(argc), argv_(argv) {}
  bool next();                                       // false after the last argument
  const std::string& name() const { return name_; }  // the argument, without any "=value"
  const char* raw() const { return argv_[i_]; }      // the argument as given
  std::string value();

 private:
  int argc_;
  char** argv_;
  int i_ = 0;
  std::string name_, inline_value_;
  bool has_inline_ = false;
};

// The apps' main(): runs `body`, turning a difflut::Error into one "<program>: error: ..." line on
// stderr with exit code 2, and any other exception into an "internal error" line with code 3.
// `prefix` is printed first (e.g. a newline to leave a live progress line).
int run_guarded(const char* program, const std::function<int()>& body, const char* prefix = "");

// Usage text for `program`: flags, override grammar, and the main config keys with their meaning.
std::string help_text(std::string_view program);

}  // namespace difflut::app
