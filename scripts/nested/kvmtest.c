/* kvmtest: does `syscall` from ring 3 enter ring 0 at LSTAR, as on real x86?
 * (On the development machine's PVM-style KVM it does not.)
 *
 * Creates a VM with one vCPU directly in 64-bit long mode (page tables, GDT,
 * TSS and segment state set up via KVM_SET_SREGS), runs kvmtest_guest.S,
 * prints what the guest reported and exits 0 iff the LSTAR handler ran with a
 * ring-0 CS.  Also prints the CPU vendor and whether KVM offers PCID and
 * INVPCID to its guests.  Used by selftest.sh through run.sh.
 *
 * Build: gcc -O2 -static -o kvmtest kvmtest.c kvmtest_guest.S
 * Usage: kvmtest [--echo FILE] [--exit N]
 *   --echo FILE  afterwards copy FILE to stdout and write one line to stderr
 *   --exit N     exit N instead of 0 when the check passes
 * Exit: 0 (or N) pass; 1 fail (non-ring-0 CS); 2 setup error; 3 VM died; 4 timeout */
#define _GNU_SOURCE
#include <cpuid.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

extern const uint8_t kvmtest_guest_start[], kvmtest_guest_end[], kvmtest_after_syscall[];

#define MEM_SIZE  0x200000ULL /* one 2 MiB page, identity mapped */
#define PML4      0x1000
#define PDPT      0x2000
#define PD        0x3000
#define GDT       0x4000
#define TSS       0x5000
#define STACK0    0x8000
#define CODE      0x10000

static void die(const char *what)
{
	perror(what);
	exit(2);
}

static void on_alarm(int sig)
{
	static const char m[] = "kvmtest: TIMEOUT (vCPU did not finish in 20 s)\n";
	(void)sig;
	if (write(1, m, sizeof m - 1) < 0) _exit(4);
	_exit(4);
}

static void seg(struct kvm_segment *s, uint16_t sel, int code, int dpl)
{
	memset(s, 0, sizeof *s);
	s->selector = sel;
	s->base = 0;
	s->limit = 0xffffffff;
	s->type = code ? 11 : 3; /* execute/read accessed : read/write accessed */
	s->present = 1;
	s->dpl = dpl;
	s->s = 1;
	s->l = code;
	s->db = !code;
	s->g = 1;
}

int main(int argc, char **argv)
{
	const char *echo = NULL;
	int pass_code = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--echo") && i + 1 < argc)
			echo = argv[++i];
		else if (!strcmp(argv[i], "--exit") && i + 1 < argc)
			pass_code = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: kvmtest [--echo FILE] [--exit N]\n");
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGALRM, on_alarm);
	alarm(20);

	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) die("open /dev/kvm");
	if (ioctl(kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		fprintf(stderr, "kvmtest: unexpected KVM API version\n");
		return 2;
	}
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0) die("KVM_CREATE_VM");
	uint8_t *mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) die("mmap guest memory");
	struct kvm_userspace_memory_region region = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = MEM_SIZE, .userspace_addr = (uint64_t)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) die("KVM_SET_USER_MEMORY_REGION");

	/* page tables: PML4[0] -> PDPT[0] -> PD[0] = 2 MiB page at 0; P|RW|US (+PS) */
	*(uint64_t *)(mem + PML4) = PDPT | 7;
	*(uint64_t *)(mem + PDPT) = PD | 7;
	*(uint64_t *)(mem + PD) = 0 | 0x87;
	/* GDT: 0x08 kernel code64, 0x10 kernel data, 0x18 user data, 0x20 user code64, 0x28 TSS */
	uint64_t *gdt = (uint64_t *)(mem + GDT);
	gdt[1] = 0x00af9b000000ffffULL;
	gdt[2] = 0x00cf93000000ffffULL;
	gdt[3] = 0x00cff3000000ffffULL;
	gdt[4] = 0x00affb000000ffffULL;
	gdt[5] = 0x67 | ((uint64_t)(TSS & 0xffffff) << 16) | (0x89ULL << 40) | ((uint64_t)(TSS >> 24 & 0xff) << 56);
	gdt[6] = 0;
	*(uint64_t *)(mem + TSS + 4) = STACK0; /* TSS.RSP0 */
	size_t code_len = (size_t)(kvmtest_guest_end - kvmtest_guest_start);
	memcpy(mem + CODE, kvmtest_guest_start, code_len);
	uint64_t expect_rcx = CODE + (uint64_t)(kvmtest_after_syscall - kvmtest_guest_start);

	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0) die("KVM_CREATE_VCPU");
	int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < (int)sizeof(struct kvm_run)) die("KVM_GET_VCPU_MMAP_SIZE");
	struct kvm_run *run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED) die("mmap kvm_run");

	/* CPUID: everything KVM supports (long mode, syscall) */
	int n = 256;
	struct kvm_cpuid2 *cpuid = calloc(1, sizeof *cpuid + (size_t)n * sizeof(struct kvm_cpuid_entry2));
	if (!cpuid) die("calloc");
	cpuid->nent = (uint32_t)n;
	if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, cpuid) < 0) die("KVM_GET_SUPPORTED_CPUID");
	if (ioctl(vcpu, KVM_SET_CPUID2, cpuid) < 0) die("KVM_SET_CPUID2");
	/* what a guest of this KVM can use (pvvmm's --pcid=auto decides on it) */
	int pcid = 0, invpcid = 0;
	for (uint32_t i = 0; i < cpuid->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &cpuid->entries[i];
		if (e->function == 1) pcid = e->ecx >> 17 & 1;
		if (e->function == 7 && e->index == 0) invpcid = e->ebx >> 10 & 1;
	}
	unsigned a, b, c, d;
	char vendor[13] = "";
	if (__get_cpuid(0, &a, &b, &c, &d)) {
		memcpy(vendor, &b, 4);
		memcpy(vendor + 4, &d, 4);
		memcpy(vendor + 8, &c, 4);
	}
	printf("kvmtest: CPU %s; KVM offers its guests PCID %s, INVPCID %s\n", vendor, pcid ? "yes" : "no",
	       invpcid ? "yes" : "no");

	struct kvm_sregs sr;
	if (ioctl(vcpu, KVM_GET_SREGS, &sr) < 0) die("KVM_GET_SREGS");
	seg(&sr.cs, 0x08, 1, 0);
	seg(&sr.ds, 0x10, 0, 0);
	sr.es = sr.fs = sr.gs = sr.ss = sr.ds;
	memset(&sr.tr, 0, sizeof sr.tr);
	sr.tr.selector = 0x28;
	sr.tr.base = TSS;
	sr.tr.limit = 0x67;
	sr.tr.type = 11; /* busy 64-bit TSS */
	sr.tr.present = 1;
	memset(&sr.ldt, 0, sizeof sr.ldt);
	sr.ldt.unusable = 1;
	sr.gdt.base = GDT;
	sr.gdt.limit = 7 * 8 - 1;
	sr.idt.base = 0;
	sr.idt.limit = 0; /* no IDT: any exception becomes a triple fault */
	sr.cr3 = PML4;
	sr.cr4 = 1 << 5;          /* PAE */
	sr.cr0 = 0x80050033;      /* PG AM WP NE ET MP PE */
	sr.efer = 0x501;          /* LMA LME SCE */
	if (ioctl(vcpu, KVM_SET_SREGS, &sr) < 0) die("KVM_SET_SREGS");
	struct kvm_regs r;
	memset(&r, 0, sizeof r);
	r.rip = CODE;
	r.rsp = STACK0;
	r.rflags = 2;
	if (ioctl(vcpu, KVM_SET_REGS, &r) < 0) die("KVM_SET_REGS");

	int64_t rep[0x20];
	for (int i = 0; i < 0x20; i++) rep[i] = -1;
	int died = 0;
	for (int exits = 0; exits < 100; exits++) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0) die("KVM_RUN");
		if (run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_OUT &&
		    run->io.port >= 0x10 && run->io.port < 0x20 && run->io.size == 4) {
			rep[run->io.port - 0x10] = *(uint32_t *)((uint8_t *)run + run->io.data_offset);
			if (run->io.port == 0x1f) break;
			continue;
		}
		if (run->exit_reason == KVM_EXIT_HLT) break;
		struct kvm_regs now;
		ioctl(vcpu, KVM_GET_REGS, &now);
		printf("kvmtest: VM stopped: exit reason %u (%s) at rip 0x%llx\n", run->exit_reason,
		       run->exit_reason == KVM_EXIT_SHUTDOWN        ? "shutdown = triple fault"
		       : run->exit_reason == KVM_EXIT_FAIL_ENTRY    ? "VM entry failed"
		       : run->exit_reason == KVM_EXIT_INTERNAL_ERROR ? "KVM internal error"
		       : run->exit_reason == KVM_EXIT_IO            ? "unexpected port I/O"
		                                                    : "unexpected",
		       (unsigned long long)now.rip);
		died = 1;
		break;
	}
	alarm(0);

	printf("kvmtest: ring 0 entry CS=0x%llx\n", (long long)rep[0]);
	printf("kvmtest: ring 3 CS=0x%llx (before syscall)\n", (long long)rep[1]);
	if (rep[0xf] >= 0) printf("kvmtest: syscall returned to ring 3 without entering the LSTAR handler\n");
	int ok = 0;
	if (rep[2] >= 0) {
		printf("kvmtest: LSTAR handler CS=0x%llx (CPL %lld) SS=0x%llx RCX=0x%llx (expected 0x%llx)\n",
		       (long long)rep[2], (long long)(rep[2] & 3), (long long)rep[4], (long long)rep[3],
		       (unsigned long long)expect_rcx);
		ok = rep[2] == 0x08 && (uint64_t)rep[3] == (expect_rcx & 0xffffffff) && rep[4] == 0x10;
	} else {
		printf("kvmtest: LSTAR handler never ran\n");
	}
	printf("kvmtest: %s: syscall from ring 3 %s\n", ok ? "PASS" : "FAIL",
	       ok ? "entered the LSTAR handler in ring 0" : "did not enter ring 0 at LSTAR as on real x86");

	if (echo) {
		FILE *f = fopen(echo, "r");
		if (!f) die(echo);
		char buf[4096];
		size_t got;
		while ((got = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, got, stdout);
		fclose(f);
		fprintf(stderr, "kvmtest: this line went to stderr\n");
	}
	if (died) return 3;
	return ok ? pass_code : 1;
}
