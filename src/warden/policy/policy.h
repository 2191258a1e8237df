// The policy module: policy file v1 (DESIGN section 4) loaded into an immutable Policy, and the
// per-session Evaluator that decides client requests against it. See docs/policy.md.
#pragma once

#include "warden/policy/evaluator.h"
#include "warden/policy/matchers.h"
#include "warden/policy/model.h"
