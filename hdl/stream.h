// The streaming top: the inference core behind AXI4-Stream handshakes, for dropping into an FPGA
// design. Features arrive over a narrow bus (s_axis_*, `bus_bits` a beat, sample bits in order,
// the last beat zero-padded) into an input buffer; each complete sample enters the core's
// pipeline; results leave through an output FIFO (m_axis_*: the class, optionally the scores).
// aresetn is synchronous and active low; back-pressure (m_axis_tready low) is honoured by credits:
// a sample is accepted only when the FIFO is sure to have room for it, so the core's pipeline
// never stalls and needs no enable. With one beat per sample it accepts a sample every cycle.
// Timing and ports are documented in docs/HARDWARE.md.
#pragma once
#include <cstdint>
#include <string>

#include "hdl/circuit.h"
#include "hdl/verilog.h"

namespace difflut::hdl {

struct StreamOptions {
  int bus_bits = 8;     // s_axis_tdata width (AXI4-Stream: a whole number of bytes is usual)
  bool scores = false;  // m_axis_tdata also carries the class scores (above the class)
};

struct StreamDesign {
  // The core's files plus the streaming top; design.top is the streaming module ("<core>_stream"),
  // design.latency the cycles from the edge that accepts a sample's last beat to the edge that
  // can deliver its result (core latency + 2), design.input_bits = bus_bits.
  VerilogDesign design;
  std::string core;  // the core module it wraps
  int bus_bits = 0;
  int64_t beats = 0;       // beats per sample
  int depth = 0;           // output FIFO entries = samples in flight at most
  int class_bits = 0;      // m_axis_tdata[class_bits-1:0] = class
  int64_t score_bits = 0;  // then the scores (0 without StreamOptions::scores)
  int out_bits = 0;        // m_axis_tdata width (class + scores, padded to whole bytes)
};

// Wraps `core` (written by write_verilog for `circuit`; needs a class_idx port) in the streaming
// top; the language follows the core's.
StreamDesign write_stream_top(const Circuit& circuit, const VerilogDesign& core,
                              const StreamOptions& options = {});

struct StreamBenchOptions {
  int valid_percent = 70;  // chance per cycle that the source offers a beat
  int ready_percent = 70;  // chance per cycle that the sink accepts a result
  uint32_t seed = 1;       // the testbench's own xorshift32 generator
};
// A self-checking testbench "tb_<stream top>" for the golden vectors in `vectors_file` (the same
// file as the core's testbench): random valid/ready stalls on both sides, every result compared
// with its vector in order. Ends with "latency=L cycles=C" (L: measured from the first sample's
// last beat to its result, C: cycles from reset to the last result) and "mismatches=N vectors=M"
// (M results received; a missing result counts as a mismatch).
VerilogFile write_stream_testbench(const Circuit& circuit, const StreamDesign& stream,
                                   int64_t count, const std::string& vectors_file,
                                   const StreamBenchOptions& options = {});

}  // namespace difflut::hdl
