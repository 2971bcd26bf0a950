// Outputs of one RDB file (output.h).
//
// RdbFileOutput writes a valid single-database RDB into a ByteSink (a file, memory, or a NullSink
// that only counts): the header, AUX fields, then SELECTDB 0 with a RESIZEDB hint before the
// first key, the keys, the EOF opcode and the CRC-64 trailer (RdbWriter). Committing it commits
// the sink.
//
// DiscardOutput writes nothing and skips every payload: for a pass that only decides (or counts).
#pragma once

#include "rdbrekey/byte_sink.h"
#include "rdbrekey/output.h"
#include "rdbrekey/rdb_writer.h"

#include <memory>
#include <optional>

namespace rdbrekey {

class RdbFileOutput final : public Output {
 public:
  explicit RdbFileOutput(ByteSink& sink) : sink_(sink) {}

  void begin(RdbVersion version) override;
  void aux(std::string_view field, std::string_view value) override { writer_->write_aux(field, value); }
  void function(Payload& payload) override;
  void module_aux(Payload& payload) override;
  // (Inlined into the conversion loop compiled for this class: it is on the path of every key.)
  [[gnu::always_inline]] void key(const KeyPrefix& prefix, uint8_t type, const RenamedKey& name,
                                  Payload& value) override {
    writer_->select_db(0);
    writer_->write_key_header(prefix, type, name);
    value.copy_to(sink_);
  }
  void string_key(std::string_view name, std::string_view value) override;
  void end() override { writer_->finish(); }

  bool discardable() const override { return true; }
  bool wants_counts_first() const override { return !sink_.can_patch(); }
  void expect_counts(uint64_t keys, uint64_t with_ttl) override { counts_ = {keys, with_ttl}; }
  uint64_t keys_written() const override { return writer_ ? writer_->keys_written() : 0; }
  uint64_t bytes_written() const override { return sink_.bytes_written(); }
  uint64_t keys_with_ttl() const { return writer_ ? writer_->expires_written() : 0; }
  // After end(): the file's CRC-64 trailer.
  uint64_t checksum() const { return writer_ ? writer_->checksum() : 0; }
  void prepare() override { sink_.prepare(); }
  // Hands everything to the file and starts it towards the disk (ByteSink::deliver).
  void deliver() { sink_.deliver(); }
  void commit() override { sink_.commit(); }
  void uncommit() noexcept override { sink_.uncommit(); }
  void cancel() noexcept override { sink_.cancel(); }

 private:
  ByteSink& sink_;
  std::optional<RdbWriter> writer_;
  std::optional<std::pair<uint64_t, uint64_t>> counts_;  // expect_counts()
};

class DiscardOutput final : public Output {
 public:
  void begin(RdbVersion) override {}
  void aux(std::string_view, std::string_view) override {}
  void function(Payload& payload) override { payload.skip(); }
  void module_aux(Payload& payload) override { payload.skip(); }
  void key(const KeyPrefix& prefix, uint8_t, const RenamedKey&, Payload& value) override {
    value.skip();
    ++keys_;
    with_ttl_ += prefix.has_expire;
  }
  void string_key(std::string_view, std::string_view) override { ++keys_; }
  void end() override {}

  bool discardable() const override { return true; }
  uint64_t keys_written() const override { return keys_; }
  uint64_t keys_with_ttl() const { return with_ttl_; }
  uint64_t bytes_written() const override { return 0; }
  void prepare() override {}
  void commit() override {}
  void uncommit() noexcept override {}
  void cancel() noexcept override {}

 private:
  uint64_t keys_ = 0;
  uint64_t with_ttl_ = 0;
};

}  // namespace rdbrekey
