#include "rdbrekey/rdb_output.h"

#include "rdbrekey/format.h"

namespace rdbrekey {

void RdbFileOutput::begin(RdbVersion version) {
  writer_.emplace(sink_, version);
  if (counts_) writer_->expect_counts(counts_->first, counts_->second);
  writer_->write_header();
}

void RdbFileOutput::function(Payload& payload) {
  writer_->write_opcode(rdb::kOpFunction2);
  payload.copy_to(sink_);
}

void RdbFileOutput::module_aux(Payload& payload) {
  writer_->write_opcode(rdb::kOpModuleAux);
  payload.copy_to(sink_);
}

void RdbFileOutput::string_key(std::string_view name, std::string_view value) {
  writer_->select_db(0);
  writer_->write_string_key(name, value);
}

}  // namespace rdbrekey
