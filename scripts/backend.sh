# shellcheck shell=bash
# scripts/backend.sh: where commands that boot a guest run. Sourced by
# scripts/on-backend, the tests, the benchmarks and the Makefile's targets;
# nothing else decides this.
#
#   host    this machine's /dev/kvm
#   nested  a KVM with real x86 semantics inside QEMU (AMD SVM, kvm_amd):
#           scripts/nested/pool, many commands per emulated machine
#   bochs   the same inside Bochs (Intel VMX with PCID and INVPCID,
#           kvm_intel): scripts/nested/run.sh -b, one machine per command
#
# PVVMM_BACKEND=host|nested|bochs forces one. Otherwise: host where
# /dev/kvm exists and runs pvvmm's demo guest (with a console byte that
# only the host's interrupt into the running vCPU can deliver), else nested. The
# choice is exported in PVVMM_BACKEND (and why in PVVMM_BACKEND_WHY), so a
# script's children do not probe again.
#
# Functions:
#   backend_select PVVMM      choose (PVVMM: the pvvmm binary used to probe)
#   backend_describe          one line: the backend, why, and what it emulates
#   backend_exec [-t SEC] -- COMMAND [ARGS...]
#                             run COMMAND there: output, exit status as here;
#                             -t: kill it after SEC s (exit 124)
#   backend_session_start / backend_session_end
#                             keep one pool of emulated machines for many commands
#                             (nested); no-ops on the other backends
#   backend_boot_seconds      rough seconds to start one emulated machine
#   backend_bench_header      for benchmarks: the backend, the CPU model the
#                             guest runs on and where cycle figures come from

_backend_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

backend_select() {
	local pvvmm=$1 out rc
	case ${PVVMM_BACKEND:-} in
	host | nested | bochs)
		: "${PVVMM_BACKEND_WHY:=forced by PVVMM_BACKEND=$PVVMM_BACKEND}"
		export PVVMM_BACKEND PVVMM_BACKEND_WHY
		return 0
		;;
	'') ;;
	*)
		echo "backend: PVVMM_BACKEND='$PVVMM_BACKEND' is not one of host, nested, bochs" >&2
		return 2
		;;
	esac
	if [ ! -e /dev/kvm ]; then
		PVVMM_BACKEND=nested PVVMM_BACKEND_WHY="no /dev/kvm on this machine"
	else
		# The demo waits for one console byte without a hypercall: only the
		# host's kick (an MSI to the in-kernel LAPIC) brings it in, so this
		# also proves the interrupt path pvvmm needs.
		out=$(printf x | "$pvvmm" run --log-level error --timeout 60 --cmdline spin_for_input 2>&1 >/dev/null)
		rc=$?
		if [ "$rc" = 0 ]; then
			PVVMM_BACKEND=host PVVMM_BACKEND_WHY="/dev/kvm runs the demo guest"
		else
			PVVMM_BACKEND=nested
			PVVMM_BACKEND_WHY="/dev/kvm did not run the demo guest (exit $rc: $(printf '%s' "$out" | tail -1))"
		fi
	fi
	export PVVMM_BACKEND PVVMM_BACKEND_WHY
}

_backend_host_kvm() {
	local m
	for m in kvm_pvm kvm_intel kvm_amd; do
		[ -d "/sys/module/$m" ] && { echo "$m"; return; }
	done
	echo "kvm"
}

backend_describe() {
	case $PVVMM_BACKEND in
	host) echo "backend: host ($PVVMM_BACKEND_WHY; module $(_backend_host_kvm))" ;;
	nested) echo "backend: nested ($PVVMM_BACKEND_WHY; QEMU TCG -cpu max, AMD SVM, kvm_amd inside: real-x86 semantics, emulated TSC)" ;;
	bochs) echo "backend: bochs ($PVVMM_BACKEND_WHY; Bochs corei7_skylake_x, Intel VMX with PCID and INVPCID, kvm_intel inside: real-x86 semantics, emulated TSC)" ;;
	esac
}

backend_boot_seconds() {
	case $PVVMM_BACKEND in
	host) echo 0 ;; nested) echo 4 ;; bochs) echo 30 ;;
	esac
}

# A session reuses the pool of an enclosing one (PVVMM_POOL_DIR, e.g. make
# check's); otherwise it starts its own and ends it.
_backend_session_own=''
backend_bench_header() {
	local model
	model=$(backend_exec -- sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
	backend_describe
	case $PVVMM_BACKEND in
	host) echo "CPU: ${model:-unknown}; cycles: this machine's TSC" ;;
	*) echo "CPU: ${model:-unknown} (emulated); cycles: the emulated TSC, which runs with the emulator, not the hardware: compare ratios within one run, not figures across runs or with the host backend" ;;
	esac
}

backend_session_start() {
	[ "$PVVMM_BACKEND" = nested ] || return 0
	if [ -n "${PVVMM_POOL_DIR:-}" ] && "$_backend_here/nested/pool" status >/dev/null 2>&1; then
		return 0
	fi
	PVVMM_POOL_DIR=${TMPDIR:-/tmp}/pvvmm-pool-session-$$
	export PVVMM_POOL_DIR
	_backend_session_own=1
	"$_backend_here/nested/pool" start
}

backend_session_end() {
	[ -n "$_backend_session_own" ] || return 0
	"$_backend_here/nested/pool" stop
	rm -rf "$PVVMM_POOL_DIR"
	_backend_session_own=''
}

backend_exec() {
	local limit=0
	if [ "${1:-}" = -t ]; then limit=$2; shift 2; fi
	[ "${1:-}" = -- ] && shift
	case $PVVMM_BACKEND in
	host)
		if [ "$limit" = 0 ]; then "$@"; else timeout -k 5 "$limit" "$@"; fi
		;;
	nested)
		# PVVMM_BACKEND_STDIN: a file the command reads as its standard input
		# (the emulated machine has no terminal and no pipe to this one);
		# PVVMM_BACKEND_CPUS: the emulated CPUs the command needs (pool exec --cpus)
		local input=()
		[ -n "${PVVMM_BACKEND_STDIN:-}" ] && input=(--stdin "$PVVMM_BACKEND_STDIN")
		"$_backend_here/nested/pool" exec --timeout "$limit" --cpus "${PVVMM_BACKEND_CPUS:-1}" "${input[@]}" -- "$@"
		;;
	bochs) _backend_exec_bochs "$limit" "$@" ;;
	*)
		echo "backend: backend_exec before backend_select" >&2
		return 2
		;;
	esac
}

# Bochs boots one machine per command with the command's files copied in
# (run.sh -f): arguments naming existing files are passed by basename.
_backend_exec_bochs() {
	local limit=$1 prog a files=() args=()
	shift
	prog=$1
	shift
	for a in "$@"; do
		if [ -f "$a" ]; then files+=(-f "$a"); args+=("$(basename "$a")"); else args+=("$a"); fi
	done
	[ "$limit" = 0 ] && limit=600
	# run.sh's limit covers the boot too
	"$_backend_here/nested/run.sh" -b -t "$((${limit%.*} + 60))" "${files[@]}" -- "$prog" "${args[@]}"
}
