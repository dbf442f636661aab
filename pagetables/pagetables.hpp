// x86-64 4-level page tables, header-only and freestanding: the host uses it
// to build the monitor's tables, the monitor to edit its own and the guest's.
#pragma once

#include "pagetables/entry.hpp"
#include "pagetables/map.hpp"
#include "pagetables/memory.hpp"
#include "pagetables/tlb_model.hpp"
#include "pagetables/walk.hpp"
