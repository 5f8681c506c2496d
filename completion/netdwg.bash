# bash completion for netdwg(8)                               -*- shell-script -*-
#
# Verbs, options and what each option takes (its metavar: DIR, FILE,
# {a,b}) are read from netdwg's own --help (cached per command path for the
# shell session), so new verbs and options complete without editing this
# file. Host names come from the topology file (--topology, else
# /etc/netdwg/netdwg.conf).

declare -gA _netdwg_help_cache

# _netdwg_cache WORDS...: run "netdwg WORDS... --help" once per shell
# session. Call it outside $(...): a command substitution is a subshell,
# whose additions to the cache are lost.
_netdwg_cache()
{
    local key="netdwg $*"  # never empty: bash rejects an empty subscript
    if [[ -z ${_netdwg_help_cache[$key]+set} ]]; then
        _netdwg_help_cache[$key]=$(LC_ALL=C COLUMNS=200 "${_netdwg_prog:-netdwg}" "$@" --help 2>/dev/null)
    fi
}

# _netdwg_help WORDS...: the --help text of "netdwg WORDS...".
_netdwg_help()
{
    _netdwg_cache "$@"
    printf '%s\n' "${_netdwg_help_cache[netdwg $*]}"
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

# The usage lines and the option entries (-h, --help; --topology FILE, -t FILE)
# of the help, without descriptions and examples, which mention other
# verbs' options.
_netdwg_synopsis()
{
    _netdwg_help "$@" | awk '
        /^usage:/       { inusage = 1 }
        inusage && /^$/ { inusage = 0 }
        inusage         { print; next }
        /^  -/          { sub(/^  /, ""); sub(/  .*/, ""); print }'
}

_netdwg_options()
{
    _netdwg_synopsis "$@" | grep -oE '(^|[][ ,(|])--?[a-zA-Z][a-zA-Z0-9-]*' | sed 's/^[^-]*//' | sort -u
}

# _netdwg_metavar OPTION WORDS...: what OPTION takes ("--out DIR" gives DIR,
# "--type {unit,sysctl}" gives {unit,sysctl}); nothing for a flag.
_netdwg_metavar()
{
    local option=$1
    shift
    _netdwg_synopsis "$@" | grep -oE -- "(^|[][ ,(|])$option (\{[^}]*\}|[^] ,|)]+)" | head -n 1 | sed 's/.* //'
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
            --topology|-t) topology=${words[i+1]} ;;
            --topology=*) topology=${w#--topology=} ;;
            -*) ;;
            *)
                _netdwg_cache "${path[@]}"
                subs=$(_netdwg_subcommands "${path[@]}")
                if grep -qxF -- "$w" <<<"$subs"; then
                    path+=("$w")
                fi
                ;;
        esac
    done

    _netdwg_cache "${path[@]}"

    # The value of an option, by what the verb's --help says it takes.
    local takes=
    case $prev in
        --topology|-t) takes=FILE ;;  # also before the verb
        --host|--only) takes=HOST ;;
        -*) takes=$(_netdwg_metavar "$prev" "${path[@]}") ;;
    esac
    case $takes in
        "") ;;  # a flag, or not an option: complete the next word below
        DIR|LEASES)
            COMPREPLY=($(compgen -d -- "$cur"))
            compopt -o filenames 2>/dev/null
            return
            ;;
        FILE|TOPOLOGY|CONFIG|LEARNED|STATUS|STATE)  # the guard's file options name no metavar
            COMPREPLY=($(compgen -f -- "$cur"))
            compopt -o filenames 2>/dev/null
            return
            ;;
        HOST)
            COMPREPLY=($(compgen -W "$(_netdwg_hosts "$topology")" -- "$cur"))
            return
            ;;
        "{"*"}")
            takes=${takes#"{"} takes=${takes%"}"}
            COMPREPLY=($(compgen -W "${takes//,/ }" -- "$cur"))
            return
            ;;
        *)  # a number, an address, a name: nothing to offer
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
