#!/bin/sh
# `make install` into a staged tree, then: the installed programs run, their systemd units' command lines
# are accepted by the programs' own --check, and `systemd-analyze verify` passes on the units with nothing
# to say.  Run by tests/test_deploy.c; prints "install check: ok" at the end.
#
# usage: tests/install_check.sh REPO DESTDIR
#
# systemd-analyze verify checks that each Exec* program exists and is executable at the path the unit
# names.  The staged programs are under DESTDIR, so the copies verified here have PREFIX/ replaced by
# DESTDIR/PREFIX/ and nothing else changed.  (`verify --root=DESTDIR` would look for everything inside
# DESTDIR: systemd's own targets, /bin/kill; a staged tree is not a whole system.)
set -eu
repo=$1 dest=$2 prefix=/usr/local
die() { echo "install check: $*" >&2; exit 1; }

make -C "$repo" -s install PREFIX=$prefix DESTDIR="$dest" >"$dest.log" 2>&1 || { cat "$dest.log" >&2; die "make install failed"; }
root=$dest$prefix
for f in bin/worker bin/balancer bin/client share/imgrec/www/index.html share/imgrec/mobilenet_v2_1.0_224_quant.tflite \
         lib/systemd/system/imgrec-balancer.service lib/systemd/system/imgrec-worker@.service share/doc/imgrec/README.md; do
    [ -e "$root/$f" ] || die "$prefix/$f was not installed"
done
"$root/bin/balancer" --help | grep -q '^usage: balancer' || die "the installed balancer --help did not run"
"$root/bin/worker" --help | grep -q '^usage: worker' || die "the installed worker --help did not run"
"$root/bin/client" --help | grep -q '^usage: client' || die "the installed client --help did not run"
echo "installed tree runs: balancer, worker, client --help"

# Each unit's ExecStart, with systemd's substitutions done as systemd would for instance 5001 and the
# unit's own default environment, must pass the program's --check (paths moved into DESTDIR as above).
units=$root/lib/systemd/system
execstart() { # UNIT BACKENDS
    sed -n 's/^ExecStart=//p' "$1" | sed -e "s|%i|5001|g" -e "s|\${IMGREC_BACKENDS}|$2|" \
        -e 's|\$IMGREC_[A-Z_]*_OPTS||' -e "s|$prefix/|$root/|g"
}
backends=$(sed -n 's/^Environment=IMGREC_BACKENDS=\([^ ]*\).*/\1/p' "$units/imgrec-balancer.service")
[ -n "$backends" ] || die "imgrec-balancer.service sets no default IMGREC_BACKENDS"
for u in imgrec-balancer.service imgrec-worker@.service; do
    cmd=$(execstart "$units/$u" "$backends")
    [ -n "$cmd" ] || die "$u has no ExecStart"
    # shellcheck disable=SC2086 # the command line is split into words as systemd splits it
    $cmd --check || die "$u: its ExecStart is refused by --check: $cmd"
done

# systemd-analyze verify: silent and 0 on each unit (the template as an instance).
check=$dest.verify
mkdir -p "$check"
sed "s|$prefix/|$root/|g" "$units/imgrec-balancer.service" >"$check/imgrec-balancer.service"
sed "s|$prefix/|$root/|g" "$units/imgrec-worker@.service" >"$check/imgrec-worker@5001.service"
for u in imgrec-balancer.service imgrec-worker@5001.service; do
    said=$(cd "$check" && systemd-analyze verify "./$u" 2>&1) || die "systemd-analyze verify $u failed: $said"
    [ -z "$said" ] || die "systemd-analyze verify $u had something to say: $said"
    echo "systemd-analyze verify $u: ok"
    # The hardening, as systemd scores it (0 = locked down, 10 = exposed); 2.0 is the bar we hold.
    score=$(cd "$check" && systemd-analyze security --offline=yes --threshold=2 "./$u" 2>&1 | tail -1) \
        || die "systemd-analyze security $u: exposure over 2.0: $score"
    echo "$score"
done
rm -rf "$check" "$dest.log"
echo "install check: ok"
