#include "vmap/psi.h"

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>

using namespace xfsfuse::vmap;

TEST_CASE("psi: the trigger registers and the monitor stops cleanly", "[psi]") {
  ShrinkerRegistry reg;
  std::unique_ptr<PsiMonitor> mon;
  int err = PsiMonitor::start(&reg, PsiOptions{}, &mon);
  if (err == ENOENT || err == EACCES || err == EPERM || err == EOPNOTSUPP) {
    WARN("SKIP: no usable /proc/pressure/memory trigger here (errno " << err << ")");
    return;
  }
  REQUIRE(err == 0);
  REQUIRE(mon->events() == 0);  // no pressure expected on an idle test machine
  mon.reset();                  // joins the poll thread
}

TEST_CASE("psi: bad options and missing files are errors, not crashes", "[psi]") {
  ShrinkerRegistry reg;
  std::unique_ptr<PsiMonitor> mon;
  PsiOptions o;
  o.path = "/nonexistent/pressure/memory";
  REQUIRE(PsiMonitor::start(&reg, o, &mon) == ENOENT);
  o = PsiOptions{};
  o.stall_us = o.window_us + 1;
  REQUIRE(PsiMonitor::start(&reg, o, &mon) == EINVAL);
  REQUIRE(PsiMonitor::start(nullptr, PsiOptions{}, &mon) == EINVAL);
  REQUIRE(mon == nullptr);
}
