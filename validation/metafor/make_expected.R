# Regenerates validation/metafor/expected.json: reference values for synth's meta-analysis engine computed
# with R metafor (tested with metafor 3.8-1, metadat 1.2-0, jsonlite). Run from the repository root:
#   Rscript validation/metafor/make_expected.R
# Every fit uses tight control settings so the values are converged to ~1e-10 (metafor's defaults stop at
# 1e-5 / 1.2e-4 and move the 4th-6th significant digit). Inputs are stored in the JSON beside the results,
# so the Python tests need no R.
suppressMessages({ library(metafor); library(jsonlite) })
options(warn = 1)
tight <- list(threshold = 1e-13, tol = 1e-13, maxiter = 10000, stepadj = 1)
qp_ctrl <- list(tol = 1e-13, tau2.max = 1e8, maxiter = 10000)
num <- function(x) if (is.null(x)) NA else as.vector(x)

## ------------------------------------------------------------------ datasets (metadat) -----------------
bin <- function(id, ai, n1i, ci, n2i, extra = list())
  list(id = id, kind = "binary", data = c(list(events_t = ai, n_t = n1i, events_c = ci, n_c = n2i), extra))
bcg <- dat.bcg
datasets <- list(
  bin("bcg", bcg$tpos, bcg$tpos + bcg$tneg, bcg$cpos, bcg$cpos + bcg$cneg,
      list(study = bcg$author, year = bcg$year, ablat = bcg$ablat, alloc = bcg$alloc)),
  bin("egger2001", dat.egger2001$ai, dat.egger2001$n1i, dat.egger2001$ci, dat.egger2001$n2i,
      list(study = dat.egger2001$study)),
  bin("hine1989", dat.hine1989$ai, dat.hine1989$n1i, dat.hine1989$ci, dat.hine1989$n2i,
      list(study = dat.hine1989$study)),
  bin("nielweise2007", dat.nielweise2007$ai, dat.nielweise2007$n1i, dat.nielweise2007$ci, dat.nielweise2007$n2i,
      list(study = dat.nielweise2007$author)),
  bin("zero_cells", c(0, 3, 10, 0, 5, 2), c(20, 20, 50, 25, 40, 30), c(2, 0, 15, 0, 9, 2), c(20, 20, 50, 25, 40, 30),
      list(study = paste("S", 1:6))),
  list(id = "normand1999", kind = "continuous",
       data = with(dat.normand1999, list(study = source, mean_t = m1i, sd_t = sd1i, n_t = n1i,
                                         mean_c = m2i, sd_c = sd2i, n_c = n2i))),
  list(id = "curtis1998", kind = "continuous",
       data = with(dat.curtis1998[1:40, ], list(study = paste(paper, id), mean_t = m1i, sd_t = sd1i, n_t = n1i,
                                                 mean_c = m2i, sd_c = sd2i, n_c = n2i))),
  list(id = "mcdaniel1994", kind = "correlation",
       data = with(dat.mcdaniel1994[dat.mcdaniel1994$ni > 3, ], list(study = paste("S", study), r = ri, n = ni))),
  list(id = "molloy2014", kind = "correlation",
       data = with(dat.molloy2014, list(study = paste(authors, year), r = ri, n = ni))),
  list(id = "pritz1997", kind = "proportion",
       data = with(dat.pritz1997, list(study = authors, events = xi, n = ni))),
  list(id = "debruin2009", kind = "proportion",
       data = with(dat.debruin2009, list(study = author, events = xi, n = ni))),
  list(id = "raudenbush1985", kind = "generic",
       data = with(dat.raudenbush1985, list(study = paste(author, year), yi = as.vector(yi), vi = as.vector(vi)))),
  list(id = "hackshaw1998", kind = "generic",
       data = with(dat.hackshaw1998, list(study = paste(author, year), yi = as.vector(yi), vi = as.vector(vi)))),
  list(id = "viechtbauer2005a", kind = "generic",
       data = list(study = paste("S", 1:10), yi = c(-0.581, 0.530, 0.771, 1.031, 0.553, 0.295, 0.078, 0.573, -0.176, -0.232),
                   vi = c(0.023, 0.052, 0.060, 0.115, 0.095, 0.203, 0.200, 0.211, 0.051, 0.040))),
  list(id = "bcg_first2", kind = "binary",
       data = list(study = bcg$author[1:2], events_t = bcg$tpos[1:2], n_t = (bcg$tpos + bcg$tneg)[1:2],
                   events_c = bcg$cpos[1:2], n_c = (bcg$cpos + bcg$cneg)[1:2]))
)
measures <- list(binary = c("OR", "RR", "RD"), continuous = c("MD", "SMD", "ROM"), correlation = c("ZCOR", "COR"),
                 proportion = c("PLO", "PR"), generic = c("GEN"))

es <- function(d, m) {
  x <- d$data
  if (m %in% c("OR", "RR", "RD")) {
    e <- escalc(m, ai = x$events_t, n1i = x$n_t, ci = x$events_c, n2i = x$n_c, drop00 = m != "RD")
  } else if (m %in% c("MD", "SMD", "ROM")) {
    e <- escalc(m, m1i = x$mean_t, sd1i = x$sd_t, n1i = x$n_t, m2i = x$mean_c, sd2i = x$sd_c, n2i = x$n_c)
  } else if (m %in% c("ZCOR", "COR")) {
    e <- escalc(m, ri = x$r, ni = x$n)
  } else if (m %in% c("PLO", "PR")) {
    e <- escalc(m, xi = x$events, ni = x$n)
  } else {
    e <- data.frame(yi = x$yi, vi = x$vi)
  }
  list(yi = as.vector(e$yi), vi = as.vector(e$vi))
}

summ <- function(r, level) {
  v <- list(k = r$k, tau2 = r$tau2, estimate = num(r$beta), se = r$se, stat = r$zval, p = r$pval,
            ci_low = r$ci.lb, ci_high = r$ci.ub, q = r$QE, q_p = r$QEp, i2 = r$I2, h2 = r$H2)
  p <- predict(r, level = level)
  v$pi_low <- if (is.null(p$pi.lb)) NA else p$pi.lb
  v$pi_high <- if (is.null(p$pi.ub)) NA else p$pi.ub
  if (r$method != "EE") {
    if (r$k > 2) {
      pr <- predict(r, level = level, pi.type = "riley"); v$pi_hts_low <- pr$pi.lb; v$pi_hts_high <- pr$pi.ub
    }
    cc <- try(confint(r, level = level, control = qp_ctrl), silent = TRUE)
    if (!inherits(cc, "try-error")) {
      rr <- cc$random
      v$tau2_ci_low <- rr["tau^2", 2]; v$tau2_ci_high <- rr["tau^2", 3]
      v$i2_ci_low <- rr["I^2(%)", 2]; v$i2_ci_high <- rr["I^2(%)", 3]
    }
  }
  v
}

effects <- list(); pool <- list()
tests <- c(z = "z", t = "t", knha = "hksj", adhoc = "hksj-adhoc")
for (d in datasets) for (m in measures[[d$kind]]) {
  e <- es(d, m)
  effects[[length(effects) + 1]] <- list(id = paste(d$id, m, sep = "_"), dataset = d$id, measure = m,
                                          data = d$data, yi = e$yi, vi = e$vi)
  ok <- !is.na(e$yi)
  for (meth in c("REML", "DL", "PM", "ML", "HE", "SJ", "HS", "EB", "EE")) for (tt in names(tests)) {
    if (meth == "EE" && tt != "z") next
    level <- if (tt == "t" && meth == "DL") 90 else 95
    r <- try(suppressWarnings(rma(e$yi[ok], e$vi[ok], method = meth, test = tt, level = level, control = tight)), silent = TRUE)
    if (inherits(r, "try-error")) # |change| < 1e-13 is below double precision when tau^2 is in the hundreds
      r <- try(suppressWarnings(rma(e$yi[ok], e$vi[ok], method = meth, test = tt, level = level,
                                    control = modifyList(tight, list(threshold = 1e-9)))), silent = TRUE)
    if (inherits(r, "try-error")) { cat("skip", d$id, m, meth, tt, "\n"); next }
    pool[[length(pool) + 1]] <- list(id = paste(d$id, m, meth, tt, sep = "_"), dataset = d$id, measure = m,
                                      method = meth, test = unname(tests[tt]), level = level, expected = summ(r, level))
  }
}

## ------------------------------------------------------------------ regression / subgroups --------------
dat <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
reg <- list()
regcase <- function(id, mods, formula, meth, tt) {
  r <- rma(yi, vi, mods = formula, data = dat, method = meth, test = tt, control = tight)
  reg[[length(reg) + 1]] <<- list(id = id, dataset = "bcg", measure = "RR", mods = mods, method = meth,
    test = unname(tests[tt]), expected = list(coef = num(r$beta), se = r$se, p = r$pval, ci_low = r$ci.lb,
    ci_high = r$ci.ub, tau2 = r$tau2, qm = r$QM, qm_p = r$QMp, qe = r$QE, qe_p = r$QEp, i2 = r$I2, r2 = num(r$R2),
    names = rownames(r$beta)))
}
for (meth in c("REML", "DL", "ML", "PM", "EB", "HE", "SJ", "HS")) for (tt in c("z", "knha", "t", "adhoc")) {
  if (!(meth %in% c("REML", "DL", "ML", "PM")) && tt %in% c("t", "adhoc")) next
  regcase(paste("bcg_ablat", meth, tt, sep = "_"), list("ablat"), ~ ablat, meth, tt)
  regcase(paste("bcg_ablat_year", meth, tt, sep = "_"), list("ablat", "year"), ~ ablat + year, meth, tt)
  regcase(paste("bcg_alloc", meth, tt, sep = "_"), list("alloc"), ~ factor(alloc), meth, tt)
}
sub <- list()
for (meth in c("REML", "DL")) {
  sg <- lapply(split(dat, dat$alloc), function(d) rma(yi, vi, data = d, method = meth, control = tight))
  est <- sapply(sg, function(x) num(x$beta)); ses <- sapply(sg, function(x) x$se)
  qb <- rma(est, sei = ses, method = "EE")
  sub[[length(sub) + 1]] <- list(id = paste0("bcg_alloc_", meth), by = "alloc", method = meth, test = "z",
    expected = list(groups = names(sg), k = unname(sapply(sg, function(x) x$k)), estimate = unname(est),
                    se = unname(ses), tau2 = unname(sapply(sg, function(x) x$tau2)),
                    q_between = qb$QE, df_between = qb$k - 1, p_between = qb$QEp))
}

## ------------------------------------------------------------------ bias / sensitivity -----------------
bias <- list(); sens <- list()
biascase <- function(id, yi, vi, meth) {
  r <- rma(yi, vi, method = meth, control = tight)
  eg <- regtest(r, model = "lm"); rk <- ranktest(r); tf <- trimfill(r)
  # trimfill() re-fits the filled data with metafor's default (loose) control; re-fit it tightly
  tf2 <- rma(as.vector(tf$yi), tf$vi, method = meth, control = tight)
  tf$beta <- tf2$beta; tf$se <- tf2$se; tf$ci.lb <- tf2$ci.lb; tf$ci.ub <- tf2$ci.ub; tf$tau2 <- tf2$tau2
  egl <- lm(yi ~ sqrt(vi), weights = 1 / vi)
  bias[[length(bias) + 1]] <<- list(id = id, method = meth, yi = as.vector(yi), vi = as.vector(vi), expected = list(
    egger_stat = eg$zval, egger_p = eg$pval, egger_df = eg$dfs, egger_intercept = unname(coef(egl)[2]),
    egger_limit = unname(coef(egl)[1]), begg_tau = unname(rk$tau), begg_p = rk$pval,
    tf_k0 = tf$k0, tf_side = tf$side, tf_estimate = num(tf$beta), tf_se = tf$se, tf_ci_low = tf$ci.lb,
    tf_ci_high = tf$ci.ub, tf_tau2 = tf$tau2, tf_yi = as.vector(tf$yi), tf_vi = as.vector(tf$vi)))
}
de <- escalc("OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.egger2001)
for (meth in c("REML", "DL", "EE")) {
  biascase(paste0("bcg_RR_", meth), dat$yi, dat$vi, meth)
  biascase(paste0("egger2001_OR_", meth), de$yi, de$vi, meth)
  biascase(paste0("hackshaw1998_", meth), dat.hackshaw1998$yi, dat.hackshaw1998$vi, meth)
}
for (meth in c("REML", "DL", "PM")) for (tt in c("z", "knha")) {
  r <- rma(yi, vi, data = dat, method = meth, test = tt, control = tight)
  l1 <- leave1out(r); inf <- influence(r); cu <- cumul(r, order = dat$year)
  ii <- inf$inf
  sens[[length(sens) + 1]] <- list(id = paste("bcg_RR", meth, tt, sep = "_"), method = meth, test = unname(tests[tt]),
    order_by = "year",
    expected = list(
      loo = list(estimate = l1$estimate, se = l1$se, ci_low = l1$ci.lb, ci_high = l1$ci.ub, tau2 = l1$tau2,
                 i2 = l1$I2, q = l1$Q),
      influence = list(rstudent = ii$rstudent, dffits = ii$dffits, cook_d = ii$cook.d, cov_r = ii$cov.r,
                       tau2_del = ii$tau2.del, qe_del = ii$QE.del, hat = ii$hat, weight = ii$weight,
                       dfbetas = inf$dfbs$intrcpt, flagged = inf$is.infl),
      cumulative = list(order = order(dat$year), estimate = cu$estimate, se = cu$se, ci_low = cu$ci.lb,
                        ci_high = cu$ci.ub, tau2 = cu$tau2, i2 = cu$I2)))
}

## ------------------------------------------------------------------ missing values (na.action) ----------
# One cell set to NA per data set (and one moderator): metafor's escalc() gives that study NA yi/vi and rma()
# omits it (na.action = "na.omit"), reporting k without it.
missing <- list()
with_na <- function(d, col, row) { d$data[[col]][row] <- NA; d }
na_sets <- list(list(d = with_na(datasets[[1]], "events_t", 3), col = "events_t", row = 3),
                list(d = with_na(datasets[[6]], "sd_t", 2), col = "sd_t", row = 2),
                list(d = with_na(datasets[[8]], "r", 5), col = "r", row = 5),
                list(d = with_na(datasets[[10]], "events", 4), col = "events", row = 4),
                list(d = with_na(datasets[[12]], "vi", 6), col = "vi", row = 6))
for (s in na_sets) for (m in measures[[s$d$kind]]) for (meth in c("REML", "DL")) {
  e <- es(s$d, m)
  r <- try(suppressWarnings(rma(e$yi, e$vi, method = meth, test = "knha", control = tight)), silent = TRUE)
  if (inherits(r, "try-error")) # as above: tau^2 in the hundreds (dat.normand1999 MD)
    r <- suppressWarnings(rma(e$yi, e$vi, method = meth, test = "knha", control = modifyList(tight, list(threshold = 1e-9))))
  missing[[length(missing) + 1]] <- list(id = paste(s$d$id, m, meth, "NA", sep = "_"), dataset = s$d$id,
    measure = m, method = meth, test = "hksj", na_column = s$col, na_row = s$row, data = s$d$data,
    expected = list(k = r$k, omitted = which(!r$not.na), yi = e$yi, vi = e$vi, estimate = num(r$beta), se = r$se,
                    ci_low = r$ci.lb, ci_high = r$ci.ub, tau2 = r$tau2, q = r$QE, i2 = r$I2))
}
dna <- dat; dna$ablat[7] <- NA
for (meth in c("REML", "DL")) {
  r <- suppressWarnings(rma(yi, vi, mods = ~ ablat, data = dna, method = meth, test = "knha", control = tight))
  missing[[length(missing) + 1]] <- list(id = paste("bcg_RR_ablat", meth, "NA", sep = "_"), dataset = "bcg",
    measure = "RR", method = meth, test = "hksj", mods = list("ablat"), na_column = "ablat", na_row = 7,
    data = list(study = dna$author, events_t = dna$tpos, n_t = dna$tpos + dna$tneg, events_c = dna$cpos,
                n_c = dna$cpos + dna$cneg, ablat = dna$ablat),
    expected = list(k = r$k, omitted = which(!r$not.na), coef = num(r$beta), se = r$se, tau2 = r$tau2,
                    qm = r$QM, qe = r$QE))
}

## ------------------------------------------------------------------ multilevel + cluster-robust -------------
# rma.mv(random = ~ 1 | cluster/within) with REML and ML, metafor's robust(adjust = TRUE) (CR1) and
# clubSandwich's coef_test(vcov = "CR2", test = "Satterthwaite") + conf_int, on metadat's konstantopoulos2011
# (schools within districts), assink2016 (effects within studies) and berkey1998 (two outcomes per trial),
# with and without a moderator.
suppressMessages(library(clubSandwich))
mv_ctrl <- list(rel.tol = 1e-12, iter.max = 10000, eval.max = 10000)
multilevel <- list()
mvcase <- function(id, d, cluster, within, mods, meth) {
  f <- if (is.null(mods)) ~ 1 else as.formula(paste("~", paste(mods, collapse = " + ")))
  fitmv <- function(ctrl) rma.mv(d$yi, d$vi, mods = f, random = list(as.formula(paste("~ 1 |", cluster, "/", within))),
                                 data = d, method = meth, control = ctrl)
  r <- try(fitmv(mv_ctrl), silent = TRUE)  # nlminb may stop short of 1e-12 on a flat likelihood: 1e-10 then
  if (inherits(r, "try-error")) r <- fitmv(modifyList(mv_ctrl, list(rel.tol = 1e-10)))
  rb <- robust(r, cluster = d[[cluster]], adjust = TRUE)
  ct <- coef_test(r, vcov = "CR2", cluster = d[[cluster]], test = "Satterthwaite")
  ci <- conf_int(r, vcov = "CR2", cluster = d[[cluster]], level = 0.95)
  keep <- unique(c("yi", "vi", cluster, within, mods))
  # intercept-only: I^2 of the multilevel model (metafor FAQ, "I^2 for multilevel and multivariate models":
  # sigma^2 over sigma^2 + the typical sampling variance (k - p) / tr(P)), the weights of the pooled estimate
  # (rowsum), and prediction intervals (model-based; and CR2 as metafor's robust(clubSandwich = TRUE) gives)
  extra <- list()
  if (is.null(mods)) {
    W <- diag(1 / d$vi)
    X <- model.matrix(r)
    P <- W - W %*% X %*% solve(t(X) %*% W %*% X) %*% t(X) %*% W
    typical <- (r$k - r$p) / sum(diag(P))
    pr <- predict(r)
    prb <- predict(robust(r, cluster = d[[cluster]], clubSandwich = TRUE))
    extra <- list(i2 = 100 * sum(r$sigma2) / (sum(r$sigma2) + typical),
                  i2_levels = 100 * r$sigma2 / (sum(r$sigma2) + typical),
                  weights = unname(weights(r, type = "rowsum")), pi_low = pr$pi.lb, pi_high = pr$pi.ub,
                  cr2_pi_low = prb$pi.lb, cr2_pi_high = prb$pi.ub)
  }
  multilevel[[length(multilevel) + 1]] <<- list(id = id, method = meth, cluster = cluster, within = within,
    mods = as.list(mods), data = as.list(d[, keep]),
    expected = c(list(k = r$k, estimate = num(r$b), se = r$se, ci_low = r$ci.lb, ci_high = r$ci.ub, p = r$pval,
      sigma2 = r$sigma2, q = r$QE, q_p = r$QEp,
      cr1 = list(se = rb$se, ci_low = rb$ci.lb, ci_high = rb$ci.ub, df = rb$ddf, p = rb$pval),
      cr2 = list(se = ct$SE, df = ct$df_Satt, p = ct$p_Satt, ci_low = ci$CI_L, ci_high = ci$CI_U)), extra))
}
for (meth in c("REML", "ML")) {
  mvcase(paste0("konstantopoulos2011_", meth), dat.konstantopoulos2011, "district", "school", NULL, meth)
  mvcase(paste0("konstantopoulos2011_year_", meth), dat.konstantopoulos2011, "district", "school", "year", meth)
  mvcase(paste0("assink2016_", meth), dat.assink2016, "study", "esid", NULL, meth)
  mvcase(paste0("assink2016_year_", meth), dat.assink2016, "study", "esid", "year", meth)
  # two outcomes (probing depth, attachment level) per trial, Berkey et al. 1998: the multilevel model on vi
  # alone (the published within-trial covariances are not used), overall and with a mean per outcome
  mvcase(paste0("berkey1998_", meth), dat.berkey1998, "trial", "outcome", NULL, meth)
  mvcase(paste0("berkey1998_outcome_", meth), dat.berkey1998, "trial", "outcome", "outcome", meth)
}

out <- list(generator = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
                             metadat = as.character(packageVersion("metadat")), control = tight, confint_control = qp_ctrl),
            datasets = lapply(datasets, function(d) list(id = d$id, kind = d$kind, data = d$data)),
            effects = effects, pool = pool, regression = reg, subgroup = sub, bias = bias, sensitivity = sens,
            missing = missing, multilevel = multilevel)
path <- file.path("validation", "metafor", "expected.json")
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", null = "null"), path)
cat("wrote", path, ":", length(effects), "effect cases,", length(pool), "pooling cases,", length(reg), "regression,",
    length(sub), "subgroup,", length(bias), "bias,", length(sens), "sensitivity,", length(missing), "missing-value,",
    length(multilevel), "multilevel\n")
