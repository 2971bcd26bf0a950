// The shared RDB fixtures (../shared/fixtures) and what each is expected to do.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "rdbrekey/error.h"

namespace rdbrekey::test {

// Every .rdb below the shared fixtures directory, sorted.
std::vector<std::string> shared_fixtures();
std::string shared_fixture(const std::string& relative);
std::string project_fixture(const std::string& relative);

// The error a fixture must end with (MANIFEST.md marks these as not valid input), or nullopt.
std::optional<Errc> expected_failure(const std::string& path);
// Whether MANIFEST.md says the producer wrote a zero checksum (checksum disabled).
bool checksum_disabled(const std::string& path);

}  // namespace rdbrekey::test
