# shellcheck shell=bash
# scripts/nested/bochs.sh: the Bochs backend of run.sh (run.sh -b), sourced by
# run.sh after it has parsed its options; uses its variables (DIR W L T SMP MEM
# CPU_MODEL APPEND) and functions (die).  Prepared by setup.sh --bochs.
#
# Bochs (Debian's 2.7) emulates an Intel CPU with VMX (EPT, VPID), PCID and
# INVPCID, so the guest kernel loads kvm_intel.  Booting is the slow part:
# Bochs has no direct kernel boot, and letting the emulated CPU decompress the
# XZ bzImage costs ~75 s.  Instead the uncompressed vmlinux is entered at its
# PVH entry point, like QEMU does in run.sh:
#  * ram.img: hvm_start_info + command line, vmlinux's LOAD segments, the
#    initrd and an end marker, laid out for physical address 1 MiB (see
#    bochs-boot.S) and given to Bochs as "optramimage1", which Bochs copies
#    into guest RAM before the BIOS starts;
#  * boot.img: a floppy whose boot sector (bochs-boot.S, built by setup.sh)
#    adds the BIOS E820 map and jumps to the PVH entry.
# Bochs 2.7 allocates guest RAM lazily in 128 KiB blocks, in the order they
# are first touched, but loads an optramimage with one read() starting at the
# first block's host address: only the image's first block would land right.
# The debugger commands run before the emulation starts therefore touch the
# image's other blocks in ascending order (`xp`), which maps block N+k to host
# slot k, where the read put them.  The boot sector checks the end marker and
# stops with "@@PVVMM-ERROR ...@@" if this ever stops holding.
#
# The `term` display needs a tty (script(1) provides one, its output goes to
# bochs.out).  Bochs writes the serial files through stdio buffers and
# flushes them only when it exits normally: the time limit sends SIGINT, which
# the Bochs debugger turns into a stop, and the command file then says `quit`.

BOCHS_BIOS=/usr/share/bochs/BIOS-bochs-latest
BOCHS_VGABIOS=/usr/share/bochs/VGABIOS-lgpl-latest
BOCHS_IPS=${PVVMM_NESTED_BOCHS_IPS:-50000000}   # emulated instructions per emulated second
BOCHS_BLOCK=$((128 << 10))                      # Bochs 2.7's RAM allocation block
BOCHS_BASE=$((0x100000))                        # where ram.img goes (bochs-boot.S: INFO)

bochs_check() {
	command -v bochs-bin >/dev/null && command -v script >/dev/null &&
		[ -f "$BOCHS_BIOS" ] && [ -f "$BOCHS_VGABIOS" ] &&
		[ -f /usr/lib/x86_64-linux-gnu/bochs/plugins/libbx_term_gui.so ] ||
		die "Bochs (bochs bochs-term bochsbios vgabios) missing; run scripts/nested/setup.sh --bochs"
	[ -f "$DIR/bochs/stamp" ] && [ -f "$DIR/bochs/kernel.img" ] && [ -f "$DIR/bochs/kernel.env" ] &&
		[ -f "$DIR/bochs/boot.bin" ] || die "no Bochs files in $DIR/bochs; run scripts/nested/setup.sh --bochs"
}

le() { # le VALUE BYTES: VALUE little-endian
	local i
	for ((i = 0; i < $2; i++)); do printf "\\x$(printf %02x $((($1 >> (8 * i)) & 255)))"; done
}

bochs_start() {
	local entry kend mb initrd_at isz mark cmdline blk
	EMU=bochs EMU_LOG=$L/bochs.summary
	: >"$EMU_LOG"
	entry=$(sed -n 's/^entry=//p' "$DIR/bochs/kernel.env")
	kend=$(sed -n 's/^kend=//p' "$DIR/bochs/kernel.env")
	case $MEM in
	*[Gg]) mb=$((${MEM%?} * 1024)) ;;
	*[Mm]) mb=${MEM%?} ;;
	*) mb=$MEM ;;
	esac
	initrd_at=$(((kend + 0x1fffff) & ~0x1fffff))
	isz=$(stat -c %s "$W/initrd")
	mark=$(((initrd_at + isz + 4095) & ~4095))
	[ $((mark + (64 << 20))) -le $((mb << 20)) ] ||
		die "-m $MEM: too small for the kernel and a $((isz >> 20)) MiB initrd"
	cmdline="$APPEND"
	[ ${#cmdline} -lt 2048 ] || die "kernel command line too long"

	# ram.img (offsets relative to BOCHS_BASE); hvm_start_info: magic, version 1,
	# flags, nr_modules, modlist_paddr, cmdline_paddr, rsdp_paddr (0: the kernel
	# scans the BIOS area), memmap_paddr + memmap_entries (the boot sector's)
	cp --sparse=always "$DIR/bochs/kernel.img" "$W/ram.img"
	{
		le 0x336ec578 4; le 1 4; le 0 4; le 1 4
		le $((BOCHS_BASE + 0x40)) 8; le $((BOCHS_BASE + 0x100)) 8; le 0 8; le 0 8; le 0 4; le 0 4
		le "$entry" 4; le "$mark" 4                    # for bochs-boot.S
		le "$initrd_at" 8; le "$isz" 8; le 0 8; le 0 8 # hvm_modlist_entry: the initrd
	} >"$W/info.bin"
	truncate -s 256 "$W/info.bin"
	printf '%s\0' "$cmdline" >>"$W/info.bin"
	dd if="$W/info.bin" of="$W/ram.img" conv=notrunc status=none
	dd if="$W/initrd" of="$W/ram.img" bs=1M oflag=seek_bytes seek=$((initrd_at - BOCHS_BASE)) conv=notrunc status=none
	printf 'MVVP' | dd of="$W/ram.img" bs=4 oflag=seek_bytes seek=$((mark - BOCHS_BASE)) conv=notrunc status=none
	cp "$DIR/bochs/boot.bin" "$W/boot.img"
	truncate -s 1474560 "$W/boot.img"

	{   # debugger commands: map the RAM blocks in order (see above), run, quit
		for ((blk = BOCHS_BASE / BOCHS_BLOCK + 1; blk <= mark / BOCHS_BLOCK; blk++)); do
			printf 'xp /1bx 0x%x\n' $((blk * BOCHS_BLOCK))
		done
		printf 'c\nquit\n'
	} >"$W/bochs.dbg"
	cat >"$W/bochsrc" <<-EOF
		memory: guest=$mb, host=$mb
		cpu: model=$CPU_MODEL, count=$SMP, ips=$BOCHS_IPS, reset_on_triple_fault=0
		romimage: file=$BOCHS_BIOS
		vgaromimage: file=$BOCHS_VGABIOS
		pci: enabled=1, chipset=i440fx
		optramimage1: file=$W/ram.img, address=$BOCHS_BASE
		floppya: 1_44=$W/boot.img, status=inserted
		boot: floppy
		com1: enabled=1, mode=file, dev=$L/console.log
		com2: enabled=1, mode=file, dev=$L/stdout.log
		com3: enabled=1, mode=file, dev=$L/stderr.log
		display_library: term
		sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy
		speaker: enabled=0
		mouse: enabled=0
		clock: sync=none, time0=utc
		log: $L/bochs.log
		panic: action=fatal
		error: action=report, cpu0=ignore
		info: action=report
		debug: action=ignore
	EOF
	# script(1) for the tty; inside it the time limit (SIGINT: see above), and
	# bochs-bin's pid for bochs_stop.  An outer timeout in case all that hangs.
	(cd "$W" && exec env TERM=xterm timeout --foreground -k 5 $((T + 30)) script -qfec \
		"exec timeout -s INT -k 15 $T sh -c 'echo \$\$ >bochs.pid; exec bochs-bin -q -f bochsrc -rc bochs.dbg'" \
		/dev/null) </dev/null >"$L/bochs.out" 2>&1 &
	qpid=$!
	emu_stop() { bochs_stop; }
}

# stop Bochs so that it still writes its files: SIGINT (debugger stop, then
# `quit`), after 10 s SIGKILL; then the wrappers
bochs_stop() {
	local pid i
	pid=$(cat "$W/bochs.pid" 2>/dev/null) || pid=''
	if [ -n "$pid" ] && kill -INT "$pid" 2>/dev/null; then
		for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	kill -TERM "$qpid" 2>/dev/null || true
}

# after the run: Bochs's own verdict for run.sh's failure report
bochs_done() {
	{
		tr '\r' '\n' <"$L/bochs.out" | grep -aE -A1 'Bochs is exiting|PANIC' | grep -av '^=*$' || true
		grep -aE '^[0-9]+[ep]\[' "$L/bochs.log" | grep -avE 'RDMSR|WRMSR|tx hold register' | tail -5 || true
	} >"$EMU_LOG"
}
