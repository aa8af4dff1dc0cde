// Checkpoints in the safetensors format, so Python users can open our weights:
//   [8 bytes: header length N, little-endian u64]
//   [N bytes: JSON {"__metadata__": {str: str}, "<name>": {"dtype": "F32", "shape": [..],
//              "data_offsets": [begin, end]}, ...}, padded with spaces so 8 + N is a multiple of 8]
//   [raw little-endian tensor bytes; offsets are relative to the end of the header]
// Supported dtypes: F32 F64 I32 I64 U8. Writes are atomic (temp file + rename); reads validate
// every field and report the file, the entry and the expected/found values (with byte offsets).
// The format has no checksum of its own; a metadata entry "checksum" (kChecksumKey) adds one: the
// writer sets its value to safetensors_checksum of what it writes, and the reader, whenever the
// entry is present, recomputes it and refuses a file where a byte of a tensor or a metadata value
// changed ("the file is damaged"). Training checkpoints and LUT network files carry it.
#pragma once
#include <map>
#include <string>

#include "autograd/io/named_tensors.h"

namespace difflut {

class Module;

using Metadata = std::map<std::string, std::string>;

inline constexpr const char* kChecksumKey = "checksum";

struct SafetensorsContents {
  NamedTensors tensors;  // host tensors, in the order of their data in the file
  Metadata metadata;
};

// Writes `tensors` (any device; copied to the host) in the given order. Names must be unique,
// non-empty and not "__metadata__". Written to "<path>.tmp.<pid>" and renamed over `path`.
void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const Metadata& metadata = {});
SafetensorsContents load_safetensors(const std::string& path);
// The same validation on an in-memory file image; `what` names it in errors.
SafetensorsContents parse_safetensors(const std::string& bytes, const std::string& what);
// 16 hex digits of an FNV-1a-style 64-bit hash over the metadata (every entry but kChecksumKey, in
// key order) and the tensors (in the given order, the file's: name, dtype, shape, bytes).
std::string safetensors_checksum(const NamedTensors& tensors, const Metadata& metadata);
// The file image save_safetensors writes (exposed for tests and in-memory use); with a
// kChecksumKey entry in `metadata` (any value) the image holds the checksum there.
std::string serialize_safetensors(const NamedTensors& tensors, const Metadata& metadata = {});

// The module's parameters by their dotted names (Module::named_parameters).
void save_parameters(Module& module, const std::string& path, const Metadata& metadata = {});
// Loads values into the module's parameters (on whatever device they live). The file must hold
// exactly the module's parameter names with the same shapes and dtypes; nothing is written unless
// everything matches. Returns the file's metadata.
Metadata load_parameters(Module& module, const std::string& path);

// safetensors dtype names ("F32", ...) to ours and back; unknown names throw naming `what`.
std::string safetensors_dtype_name(DType dt);

}  // namespace difflut
