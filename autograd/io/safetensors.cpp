// safetensors reading (with full validation) and atomic writing; module-level parameter files.
#include "autograd/io/safetensors.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <unordered_set>

#include <fcntl.h>
#include <unistd.h>

#include "autograd/io/mini_json.h"
#include "autograd/nn/module.h"

namespace difflut {

static_assert(std::endian::native == std::endian::little,
              "safetensors I/O copies tensor bytes as they are: a little-endian host is assumed");

namespace {

// Header lengths beyond this are refused before allocating (the reference implementation uses
// the same 100 MB bound).
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

struct DTypeName {
  DType dtype;
  const char* name;
};
constexpr DTypeName kDTypeNames[] = {{DType::f32, "F32"},
                                     {DType::f64, "F64"},
                                     {DType::i32, "I32"},
                                     {DType::i64, "I64"},
                                     {DType::u8, "U8"}};
// Valid in the format but not representable here: named as such in errors.
constexpr const char* kOtherFormatDTypes[] = {"BOOL", "I8",  "U16",  "I16",     "U32",
                                              "U64",  "F16", "BF16", "F8_E4M3", "F8_E5M2"};

bool dtype_from_name(const std::string& s, DType& out) {
  for (const auto& d : kDTypeNames)
    if (s == d.name) {
      out = d.dtype;
      return true;
    }
  return false;
}

}  // namespace

std::string safetensors_dtype_name(DType dt) {
  for (const auto& d : kDTypeNames)
    if (d.dtype == dt) return d.name;
  DIFFLUT_FAIL("safetensors: dtype ", dtype_name(dt), " has no safetensors name");
}

// ---- checksum ----------------------------------------------------------------------------------

std::string safetensors_checksum(const NamedTensors& tensors, const Metadata& metadata) {
  // FNV-1a's step over 64-bit words (the tail byte by byte): a byte-wise pass over a few hundred
  // MB of optimizer state per epoch would cost a noticeable fraction of a second. Each step is a
  // bijection of the running hash, so one changed word always changes the result.
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      h = (h ^ w) * 1099511628211ull;
    }
    for (; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
    h = (h ^ n) * 1099511628211ull;  // lengths keep ("ab", "c") apart from ("a", "bc")
  };
  for (const auto& [k, v] : metadata) {
    if (k == kChecksumKey) continue;
    mix(k.data(), k.size());
    mix(v.data(), v.size());
  }
  for (const auto& [name, t] : tensors) {
    const Tensor host = t.to(Device::cpu);
    const std::string dt = safetensors_dtype_name(host.dtype());
    mix(name.data(), name.size());
    mix(dt.data(), dt.size());
    for (int64_t d : host.shape()) mix(&d, sizeof d);
    mix(host.raw(), host.nbytes());
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

// ---- writing -----------------------------------------------------------------------------------

std::string serialize_safetensors(const NamedTensors& tensors, const Metadata& requested) {
  std::unordered_set<std::string> names;
  std::vector<Tensor> host;
  host.reserve(tensors.size());
  for (const auto& [name, t] : tensors) {
    DIFFLUT_CHECK(!name.empty() && name != "__metadata__",
                  "safetensors: expected a non-empty tensor name other than \"__metadata__\", "
                  "found \"",
                  name, "\"");
    DIFFLUT_CHECK(names.insert(name).second, "safetensors: duplicate tensor name \"", name, "\"");
    DIFFLUT_CHECK(t.defined(), "safetensors: tensor \"", name, "\" is undefined");
    host.push_back(t.to(Device::cpu));
  }
  Metadata metadata = requested;
  if (metadata.count(kChecksumKey)) {
    NamedTensors on_host;
    for (size_t i = 0; i < tensors.size(); ++i) on_host.emplace_back(tensors[i].first, host[i]);
    metadata[kChecksumKey] = safetensors_checksum(on_host, metadata);
  }
  std::string header = "{";
  bool first = true;
  if (!metadata.empty()) {
    json::write_string(header, "__metadata__");
    header += ":{";
    for (const auto& [k, v] : metadata) {
      if (!first) header += ',';
      first = false;
      json::write_string(header, k);
      header += ':';
      json::write_string(header, v);
    }
    header += '}';
    first = false;
  }
  uint64_t offset = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = host[i];
    if (!first) header += ',';
    first = false;
    json::write_string(header, tensors[i].first);
    header += ":{\"dtype\":\"";
    header += safetensors_dtype_name(t.dtype());
    header += "\",\"shape\":[";
    for (size_t d = 0; d < t.shape().size(); ++d) {
      if (d) header += ',';
      header += std::to_string(t.shape()[d]);
    }
    header += "],\"data_offsets\":[";
    header += std::to_string(offset);
    header += ',';
    offset += t.nbytes();
    header += std::to_string(offset);
    header += "]}";
  }
  header += '}';
  // Pad with spaces so the data starts 8-byte aligned (8 + N is a multiple of 8).
  header.append((8 - header.size() % 8) % 8, ' ');

  std::string out;
  out.reserve(8 + header.size() + offset);
  const uint64_t n = header.size();
  for (int b = 0; b < 8; ++b) out += static_cast<char>((n >> (8 * b)) & 0xFF);
  out += header;
  for (const Tensor& t : host)
    if (t.nbytes()) out.append(static_cast<const char*>(t.raw()), t.nbytes());
  return out;
}

void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const Metadata& metadata) {
  const std::string bytes = serialize_safetensors(tensors, metadata);
  // Atomic replace: write a temp file beside the target, flush it to disk, then rename over the
  // target, so readers see the old file or the new one, never a partial write.
  const std::string tmp = str_cat(path, ".tmp.", ::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  DIFFLUT_CHECK(fd >= 0, "safetensors: cannot create '", tmp, "': ", std::strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      DIFFLUT_FAIL("safetensors: writing '", tmp, "' failed after ", done, " of ", bytes.size(),
                   " bytes: ", std::strerror(err));
    }
    done += static_cast<size_t>(w);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    DIFFLUT_FAIL("safetensors: flushing '", tmp, "' failed: ", std::strerror(err));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    DIFFLUT_FAIL("safetensors: renaming '", tmp, "' to '", path, "' failed: ", std::strerror(err));
  }
}

// ---- reading -----------------------------------------------------------------------------------

SafetensorsContents parse_safetensors(const std::string& bytes, const std::string& what) {
  const std::string who = str_cat("safetensors: ", what);
  const uint64_t file_size = bytes.size();
  DIFFLUT_CHECK(file_size >= 8, who, ": file is ", file_size,
                " bytes, expected at least 8 (the header length)");
  uint64_t n = 0;
  for (int b = 0; b < 8; ++b)
    n |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[static_cast<size_t>(b)]))
         << (8 * b);
  DIFFLUT_CHECK(n <= file_size - 8, who, ": header length ", n,
                " (bytes 0-7) runs past the end of ", "the file: expected at most ", file_size - 8,
                " header bytes in a ", file_size, "-byte file");
  DIFFLUT_CHECK(n <= kMaxHeaderBytes, who, ": header length ", n, " exceeds the limit of ",
                kMaxHeaderBytes, " bytes");
  DIFFLUT_CHECK(n >= 2 && bytes[8] == '{', who,
                ": expected the header (file byte 8) to start with ", "'{', found ",
                n == 0 ? std::string("an empty header") : str_cat("'", bytes[8], "'"));
  const std::string_view header(bytes.data() + 8, static_cast<size_t>(n));
  const json::Value root = json::parse(header, str_cat(who, " header (file byte 8 + k)"));
  DIFFLUT_CHECK(root.is_object(), who, ": expected the header to be a JSON object, found ",
                json::kind_name(root.kind));

  const uint64_t data_begin = 8 + n;
  const uint64_t data_size = file_size - data_begin;
  struct Entry {
    std::string name;
    DType dtype;
    Shape shape;
    uint64_t begin, end;
  };
  std::vector<Entry> entries;
  SafetensorsContents out;
  for (const auto& [name, v] : root.members) {
    const std::string at = str_cat(who, ": header byte ", v.offset, ": ");
    if (name == "__metadata__") {
      DIFFLUT_CHECK(v.is_object(), at,
                    "expected \"__metadata__\" to be an object of strings, found ",
                    json::kind_name(v.kind));
      for (const auto& [k, mv] : v.members) {
        DIFFLUT_CHECK(mv.is_string(), who, ": header byte ", mv.offset, ": expected metadata \"", k,
                      "\" to be a string, found ", json::kind_name(mv.kind));
        out.metadata[k] = mv.text;
      }
      continue;
    }
    DIFFLUT_CHECK(v.is_object(), at, "expected tensor \"", name, "\" to be an object, found ",
                  json::kind_name(v.kind));
    for (const auto& [k, _] : v.members)
      DIFFLUT_CHECK(k == "dtype" || k == "shape" || k == "data_offsets", at, "tensor \"", name,
                    "\": expected only the keys dtype, shape, data_offsets, found \"", k, "\"");
    const json::Value* dt = v.find("dtype");
    const json::Value* shape = v.find("shape");
    const json::Value* offs = v.find("data_offsets");
    DIFFLUT_CHECK(dt && shape && offs, at, "tensor \"", name,
                  "\": expected keys dtype, shape and data_offsets, found ", dt ? "" : "no dtype ",
                  shape ? "" : "no shape ", offs ? "" : "no data_offsets");
    Entry e{.name = name, .dtype = DType::f32, .shape = {}, .begin = 0, .end = 0};
    DIFFLUT_CHECK(dt->is_string(), who, ": header byte ", dt->offset, ": tensor \"", name,
                  "\": expected dtype to be a string, found ", json::kind_name(dt->kind));
    if (!dtype_from_name(dt->text, e.dtype)) {
      bool in_format = false;
      for (const char* other : kOtherFormatDTypes) in_format = in_format || dt->text == other;
      DIFFLUT_FAIL(who, ": header byte ", dt->offset, ": tensor \"", name,
                   "\": ", in_format ? "unsupported" : "unknown", " dtype \"", dt->text,
                   "\" (expected one of F32, F64, I32, I64, U8)");
    }
    DIFFLUT_CHECK(shape->is_array(), who, ": header byte ", shape->offset, ": tensor \"", name,
                  "\": expected shape to be an array of integers, found ",
                  json::kind_name(shape->kind));
    uint64_t numel = 1;
    for (const json::Value& d : shape->items) {
      uint64_t x = 0;
      DIFFLUT_CHECK(d.as_uint64(x) && x <= static_cast<uint64_t>(INT64_MAX), who, ": header byte ",
                    d.offset, ": tensor \"", name,
                    "\": expected shape entries to be non-negative integers, found ",
                    d.is_number() ? d.text : json::kind_name(d.kind));
      DIFFLUT_CHECK(x == 0 || numel <= UINT64_MAX / x, who, ": tensor \"", name,
                    "\": shape overflows 64 bits");
      numel *= x;
      e.shape.push_back(static_cast<int64_t>(x));
    }
    DIFFLUT_CHECK(offs->is_array() && offs->items.size() == 2 &&
                      offs->items[0].as_uint64(e.begin) && offs->items[1].as_uint64(e.end),
                  who, ": header byte ", offs->offset, ": tensor \"", name,
                  "\": expected data_offsets to be [begin, end] with non-negative integers");
    DIFFLUT_CHECK(e.begin <= e.end && e.end <= data_size, who, ": header byte ", offs->offset,
                  ": tensor \"", name, "\": data_offsets [", e.begin, ", ", e.end,
                  "] out of range: expected begin <= end <= ", data_size,
                  " (the data section is file bytes ", data_begin, "-", file_size, ")");
    const uint64_t esize = dtype_size(e.dtype);
    DIFFLUT_CHECK(numel <= UINT64_MAX / esize && numel * esize == e.end - e.begin, who,
                  ": header byte ", offs->offset, ": tensor \"", name, "\": shape ",
                  shape_str(e.shape), " of ", dt->text, " needs ", numel, " x ", esize,
                  " bytes, found data_offsets [", e.begin, ", ", e.end, "] spanning ",
                  e.end - e.begin, " bytes");
    entries.push_back(std::move(e));
  }
  // The data section must be covered exactly: sorted by offset, each tensor starts where the
  // previous one ended, the first at 0 and the last at the end of the file.
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t expect = 0;
  for (const Entry& e : entries) {
    DIFFLUT_CHECK(e.begin == expect, who, ": tensor \"", e.name,
                  "\": expected its data to start at ", "data offset ", expect, " (file byte ",
                  data_begin + expect, ") to follow the ", "previous tensor, found ", e.begin,
                  e.begin < expect ? " (overlap)" : " (gap)");
    expect = e.end;
  }
  DIFFLUT_CHECK(expect == data_size, who, ": expected the tensors to cover the ", data_size,
                "-byte data section, found ", data_size - expect, " trailing bytes from file byte ",
                data_begin + expect);

  for (const Entry& e : entries) {
    Tensor t = Tensor::empty(e.shape, e.dtype, Device::cpu);
    if (t.nbytes()) std::memcpy(t.raw(), bytes.data() + data_begin + e.begin, t.nbytes());
    out.tensors.emplace_back(e.name, std::move(t));
  }
  if (auto stored = out.metadata.find(kChecksumKey); stored != out.metadata.end()) {
    const std::string found = safetensors_checksum(out.tensors, out.metadata);
    DIFFLUT_CHECK(stored->second == found, who, ": expected checksum ", stored->second,
                  " (stored in its metadata), found ", found,
                  ": the file is damaged (a changed byte in a tensor or a metadata value)");
  }
  return out;
}

SafetensorsContents load_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  DIFFLUT_CHECK(in.good(), "safetensors: cannot open '", path, "' for reading");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  DIFFLUT_CHECK(!in.bad(), "safetensors: reading '", path, "' failed");
  return parse_safetensors(bytes, str_cat("'", path, "'"));
}

// ---- modules -----------------------------------------------------------------------------------

void save_parameters(Module& module, const std::string& path, const Metadata& metadata) {
  NamedTensors tensors;
  for (auto& [name, p] : module.named_parameters()) tensors.emplace_back(name, p->value);
  save_safetensors(path, tensors, metadata);
}

Metadata load_parameters(Module& module, const std::string& path) {
  SafetensorsContents file = load_safetensors(path);
  const std::string who = str_cat("load_parameters: '", path, "'");
  auto params = module.named_parameters();
  std::vector<std::string> missing, unexpected;
  std::vector<std::pair<Parameter*, const Tensor*>> copies;
  for (auto& [name, p] : params) {
    const Tensor* t = find_tensor(file.tensors, name);
    if (!t) {
      missing.push_back(name);
      continue;
    }
    DIFFLUT_CHECK(t->shape() == p->value.shape(), who, ": parameter '", name, "': expected shape ",
                  shape_str(p->value.shape()), " (module), found ", shape_str(t->shape()),
                  " (file)");
    DIFFLUT_CHECK(t->dtype() == p->value.dtype(), who, ": parameter '", name, "': expected dtype ",
                  dtype_name(p->value.dtype()), " (module), found ", dtype_name(t->dtype()),
                  " (file)");
    copies.emplace_back(p, t);
  }
  for (const auto& [name, t] : file.tensors) {
    bool known = false;
    for (const auto& [pn, p] : params) known = known || pn == name;
    if (!known) unexpected.push_back(name);
  }
  if (!missing.empty() || !unexpected.empty()) {
    auto list = [](const std::vector<std::string>& v) {
      std::string s;
      for (size_t i = 0; i < v.size() && i < 10; ++i) s += (i ? ", '" : "'") + v[i] + "'";
      if (v.size() > 10) s += str_cat(", ... (", v.size(), " in all)");
      return v.empty() ? std::string("none") : s;
    };
    DIFFLUT_FAIL(who, ": parameter names do not match the module: missing from the file: ",
                 list(missing), "; in the file but not in the module: ", list(unexpected));
  }
  for (auto& [p, t] : copies) p->value.copy_(*t);
  return file.metadata;
}

}  // namespace difflut
