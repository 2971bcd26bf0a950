// Random conversions for the property tests: small dumps whose keys are chosen to collide
// (twins under the prefix, Bull keys and their hashtagged names, guards, the empty key, databases
// above 65535) and random options (one to three inputs, files and pipes, every --unmapped policy,
// --drop-expired at 2000 ms, every collision policy, guards on and off; with several inputs, some
// databases mapped per input and the AUX fields of any input). Half the scenarios take
// the path where only prefixed keys are remembered (one file, one database per application).
#pragma once

#include <random>
#include <string>
#include <vector>

#include "oracle.h"
#include "rdbrekey/converter.h"

namespace rdbrekey::test {

struct Scenario {
  ConvertOptions opt;
  std::vector<OracleInput> inputs;
  std::string text;  // what it is, for a failure message
};

Scenario generate_scenario(std::mt19937& rng);

}  // namespace rdbrekey::test
