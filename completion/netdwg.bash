# bash completion for netdwg(8)                               -*- shell-script -*-
#
# Verbs and options are read from netdwg's own --help (cached per command
# path for the shell session), so new verbs complete without editing this
# file. Host names come from the topology file (--topology, else
# /etc/netdwg/netdwg.conf).

declare -gA _netdwg_help_cache

# _netdwg_help WORDS...: the --help text of "netdwg WORDS...", cached.
_netdwg_help()
{
    local key="netdwg $*"  # never empty: bash rejects an empty subscript
    if [[ -z ${_netdwg_help_cache[$key]+set} ]]; then
        _netdwg_help_cache[$key]=$(LC_ALL=C COLUMNS=200 "${_netdwg_prog:-netdwg}" "$@" --help 2>/dev/null)
    fi
    printf '%s\n' "${_netdwg_help_cache[$key]}"
}

# Subcommands listed by argparse: the 4-space-indented names under the
# positional arguments heading.
_netdwg_subcommands()
{
    _netdwg_help "$@" | awk '
        /^positional arguments:/ { inpos = 1; next }
        /^[^ ]/                  { inpos = 0 }
        inpos && /^    [a-z][a-z0-9-]*( |$)/ { print $1 }'
}

_netdwg_options()
{
    _netdwg_help "$@" | grep -oE '(^|[ ,])--?[a-zA-Z][a-zA-Z0-9-]*' | tr -d ' ,' | sort -u
}

# Host names: the [[name]] subsections of [hosts] in the topology file.
_netdwg_hosts()
{
    local topology=$1
    [[ -r $topology ]] || return 0
    awk '
        /^[ \t]*\[[^[]/ { inhosts = ($0 ~ /^[ \t]*\[hosts\]/); next }
        inhosts && match($0, /^[ \t]*\[\[[^]]+\]\]/) {
            name = substr($0, RSTART, RLENGTH); gsub(/[][ \t]/, "", name); print name
        }' "$topology"
}

_netdwg()
{
    local cur prev words cword
    if declare -F _init_completion >/dev/null; then
        _init_completion -n = || return
    else
        cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
        words=("${COMP_WORDS[@]}") cword=$COMP_CWORD
    fi
    local _netdwg_prog=${words[0]}

    # The command path so far (netdwg lab roam ...) and the topology in use.
    local -a path=()
    local topology=/etc/netdwg/netdwg.conf i w subs
    for ((i = 1; i < cword; i++)); do
        w=${words[i]}
        case $w in
            --topology) topology=${words[i+1]} ;;
            --topology=*) topology=${w#--topology=} ;;
            -*) ;;
            *)
                subs=$(_netdwg_subcommands "${path[@]}")
                if grep -qxF -- "$w" <<<"$subs"; then
                    path+=("$w")
                fi
                ;;
        esac
    done

    case $prev in
        --out|--root|--from|--state-dir|--leases)
            COMPREPLY=($(compgen -d -- "$cur"))
            compopt -o filenames 2>/dev/null
            return
            ;;
        --topology|-t|--png|--config|--learned|--status|--state)
            COMPREPLY=($(compgen -f -- "$cur"))
            compopt -o filenames 2>/dev/null
            return
            ;;
        --host)
            COMPREPLY=($(compgen -W "$(_netdwg_hosts "$topology")" -- "$cur"))
            return
            ;;
        --format)
            COMPREPLY=($(compgen -W "networkd wg-quick netplan networkmanager" -- "$cur"))
            return
            ;;
    esac

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$(_netdwg_options "${path[@]}")" -- "$cur"))
        return
    fi

    subs=$(_netdwg_subcommands "${path[@]}")
    if [[ -n $subs ]]; then
        COMPREPLY=($(compgen -W "$subs" -- "$cur"))
        return
    fi

    # Positional arguments: host names where a verb takes a HOST, else files.
    case "${path[*]}" in
        show|qr|"keys rotate"|"host remove"|"host set"|"lab exec"|"guard learn")
            COMPREPLY=($(compgen -W "$(_netdwg_hosts "$topology")" -- "$cur"))
            ;;
        "lab roam")
            COMPREPLY=($(compgen -W "$(_netdwg_hosts "$topology") away" -- "$cur"))
            ;;
        *)
            COMPREPLY=($(compgen -f -- "$cur"))
            compopt -o filenames 2>/dev/null
            ;;
    esac
}

complete -F _netdwg netdwg
