# What `cmake --install` puts where, and the Debian package `cpack -G DEB` makes of it:
#
#   bin/rdbrekey
#   share/man/man1/rdbrekey.1.gz, rdbrekey-{convert,restore,inspect,verify}.1.gz
#                    generated at build time by help2man from the program's own --help, so
#                    that they never drift from it (skipped, with a message, without help2man)
#   share/bash-completion/completions/rdbrekey, share/zsh/vendor-completions/_rdbrekey
#   share/doc/rdbrekey/  README.md, docs/*.md, report-schema.json, copyright, changelog.gz
include(GNUInstallDirs)

# cpack packages what was built (scripts/setup.sh builds it) and never starts a build of its own:
# the package test runs cpack while other tests use the build tree.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY TRUE)

set(RDBREKEY_SUBCOMMANDS convert restore inspect verify)
set(RDBREKEY_MAN_DIR "${CMAKE_CURRENT_BINARY_DIR}/man")

# ---- man pages ----------------------------------------------------------------------------------
find_program(HELP2MAN help2man)
find_program(GZIP gzip)
if(HELP2MAN AND GZIP)
  set(RDBREKEY_MAN_PAGES ON)
  # The NAME line of each page (its description comes from --help).
  set(man_name_rdbrekey "convert Redis/Valkey RDB backups offline for a prefixed db 0 or a cluster")
  set(man_name_convert "convert RDB files into one RDB (or one per cluster primary) under application prefixes")
  set(man_name_restore "send RDB files, renamed as convert renames them, into a running server or cluster")
  set(man_name_inspect "show what an RDB file holds and what renaming would do")
  set(man_name_verify "check an RDB file's framing, checksum and keys")
  set(man_pages)
  foreach(page rdbrekey ${RDBREKEY_SUBCOMMANDS})
    if(page STREQUAL "rdbrekey")
      set(name rdbrekey)
      set(program "$<TARGET_FILE:rdbrekey>")
    else()
      set(name rdbrekey-${page})
      # help2man runs PROGRAM --help and names the page after PROGRAM: a subcommand's page needs
      # a program of that name.
      set(program "${RDBREKEY_MAN_DIR}/bin/${name}")
      file(GENERATE OUTPUT "${program}"
           CONTENT "#!/bin/sh\n# ${name} for help2man: rdbrekey ${page} --help\nexec \"$<TARGET_FILE:rdbrekey>\" ${page} \"$@\"\n"
           FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
    endif()
    add_custom_command(
      OUTPUT "${RDBREKEY_MAN_DIR}/${name}.1" "${RDBREKEY_MAN_DIR}/${name}.1.gz"
      # --version-string: the rest of --version (commit, CPU) describes one build, not the program.
      COMMAND ${HELP2MAN} --no-info --no-discard-stderr --section=1 "--source=rdbrekey ${PROJECT_VERSION}"
              "--version-string=${PROJECT_VERSION}"
              "--manual=User Commands" "--name=${man_name_${page}}"
              "--include=${PROJECT_SOURCE_DIR}/packaging/see-also.h2m"
              "--output=${RDBREKEY_MAN_DIR}/${name}.1" "${program}"
      COMMAND ${GZIP} -9 -n -f -k "${RDBREKEY_MAN_DIR}/${name}.1"
      DEPENDS rdbrekey "${PROJECT_SOURCE_DIR}/packaging/see-also.h2m"
      COMMENT "Generating the man page ${name}(1) from rdbrekey's --help"
      VERBATIM)
    list(APPEND man_pages "${RDBREKEY_MAN_DIR}/${name}.1.gz")
  endforeach()
  add_custom_target(rdbrekey_man_pages ALL DEPENDS ${man_pages})
  install(FILES ${man_pages} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
else()
  set(RDBREKEY_MAN_PAGES OFF)
  message(STATUS "help2man (Debian package help2man) or gzip not found: no man pages are generated or installed "
                 "(scripts/setup.sh installs help2man)")
endif()

# ---- the Debian changelog of this native package ------------------------------------------------
add_custom_command(
  OUTPUT "${CMAKE_CURRENT_BINARY_DIR}/doc/changelog.gz"
  COMMAND ${CMAKE_COMMAND} -E make_directory "${CMAKE_CURRENT_BINARY_DIR}/doc"
  COMMAND gzip -9 -n -c "${PROJECT_SOURCE_DIR}/packaging/changelog" > "${CMAKE_CURRENT_BINARY_DIR}/doc/changelog.gz"
  DEPENDS "${PROJECT_SOURCE_DIR}/packaging/changelog"
  COMMENT "Compressing the package changelog")
add_custom_target(rdbrekey_changelog ALL DEPENDS "${CMAKE_CURRENT_BINARY_DIR}/doc/changelog.gz")

# ---- what is installed --------------------------------------------------------------------------
install(TARGETS rdbrekey RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES packaging/completions/rdbrekey.bash DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
        RENAME rdbrekey)
install(FILES packaging/completions/_rdbrekey DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
install(FILES README.md docs/architecture.md docs/compatibility.md docs/report-schema.json packaging/copyright
              "${CMAKE_CURRENT_BINARY_DIR}/doc/changelog.gz"
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

# ---- cpack -G DEB -------------------------------------------------------------------------------
set(RDBREKEY_MAINTAINER "rdbrekey maintainers <maintainers@users.noreply.r-seed-e8eba340.example>"
    CACHE STRING "Maintainer field of the Debian package")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME rdbrekey)
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_CONTACT "${RDBREKEY_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "offline converter of Redis/Valkey RDB backups to application prefixes")
# The extended description, in lines of at most 80 characters (Debian policy 3.4.1).
string(CONCAT CPACK_PACKAGE_DESCRIPTION
  "rdbrekey converts Redis and Valkey RDB backups offline for a move from one\n"
  "host with numbered databases to one sharded Valkey cluster, where every\n"
  "application lives in db 0 under its own key prefix (the open-condo 3.x\n"
  "layout).\n"
  "\n"
  "It streams RDB files of any version a server writes, renames every key by\n"
  "the database it was in, copies every value through untouched, and writes one\n"
  "valid single-db RDB or one RDB per cluster primary, or restores straight into\n"
  "a running server or cluster. The database to application map can be read\n"
  "from a checkout of the monorepo.")
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # rdbrekey_<version>_amd64.deb
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_THREADS 1)
include(CPack)
