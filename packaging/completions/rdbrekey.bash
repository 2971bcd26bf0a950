# bash completion for rdbrekey(1).
# Each subcommand's options are listed on its own "opts=" line below; tests/e2e/cli_docs_test.cpp
# checks them against `rdbrekey SUBCOMMAND --help` both ways, so this file cannot drift.

_rdbrekey() {
  local cur prev words cword
  _init_completion || return

  local sub="" i
  for ((i = 1; i < cword; i++)); do
    case "${words[i]}" in
      convert | restore | inspect | verify)
        sub=${words[i]}
        break
        ;;
    esac
  done

  case "$prev" in
    --unmapped) COMPREPLY=($(compgen -W "error drop keep" -- "$cur")); return ;;
    --on-collision) COMPREPLY=($(compgen -W "error keep-first keep-last" -- "$cur")); return ;;
    --progress) COMPREPLY=($(compgen -W "auto always never" -- "$cur")); return ;;
    --existing) COMPREPLY=($(compgen -W "error skip replace" -- "$cur")); return ;;
    --compress) COMPREPLY=($(compgen -W "gzip lz4 zstd none" -- "$cur")); return ;;
    --target)
      COMPREPLY=($(compgen -W "valkey7.2 valkey8 valkey9 redis6.2 redis7.0 redis7.2 redis7.4 redis8" -- "$cur"))
      return
      ;;
    --monorepo | --output-dir | --cacertdir) _filedir -d; return ;;
    -o | --output | --report | --map | --cluster | --password-file | --cacert | --cert | --key | --resume | --aux-from)
      _filedir
      return
      ;;
    -a | --app | --app-filter | --hashtag | --data-version | --rdb-version | --to | --sni | --window | --connections | --timeout | \
      --now | --largest | --expect-keys)
      return  # a value of the user's own
      ;;
  esac

  local opts
  case "$sub" in
    '') opts="-h --help --version convert restore inspect verify" ;;
    convert) opts="-h --help -o --output --compress --cluster --output-dir -a --app --monorepo --app-filter --map --aux-from --unmapped --hashtag --data-version --target --rdb-version --drop-field-ttls --drop-functions --lossy -f --force -n --dry-run --verify --on-collision --progress --drop-expired --report --threads -q --quiet" ;;
    restore) opts="-h --help --to --password-file --cacert --cacertdir --cert --key --sni --insecure --cluster --standalone -a --app --monorepo --app-filter --map --unmapped --hashtag --data-version --on-collision --target --drop-field-ttls --drop-functions --lossy --existing --window --connections --timeout --resume -n --dry-run --progress --report --threads -f --force -q --quiet" ;;
    inspect) opts="-h --help -a --app --monorepo --app-filter --map --hashtag --now --largest --json" ;;
    verify) opts="-h --help --expect-keys --no-duplicate-check" ;;
  esac

  if [[ -z $sub || $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  else
    _filedir  # input RDB files
  fi
}
complete -F _rdbrekey rdbrekey
