# Grouped bar chart (hand-written SVG, no plotting dependency) for
# scripts/bench-xpti: XPTI's overhead in percent per configuration, one
# group of bars per workload.
# input lines: WORKLOAD CONFIG OVERHEAD_PERCENT (whitespace separated)
# variables:   workloads="syscall mix ..."  configs="naive xen ..."  (order
#              of groups and of bars/legend), title="..."
# usage: awk -v workloads=... -v configs=... -v title=... -f bench-xpti-plot.awk DATA > plot.svg

function xml(s) {
	gsub(/&/, "\\&amp;", s)
	gsub(/</, "\\&lt;", s)
	gsub(/>/, "\\&gt;", s)
	return s
}

function y(v) { return top + plot_h * (yhi - v) / (yhi - ylo) }

# A tick step of 1, 2 or 5 times a power of ten giving about six ticks.
function nice_step(range,    raw, mag, f) {
	raw = range / 6
	mag = exp(log(10) * floor_(log(raw) / log(10)))
	f = raw / mag
	if (f <= 1) return mag
	if (f <= 2) return 2 * mag
	if (f <= 5) return 5 * mag
	return 10 * mag
}

function floor_(x) { return x == int(x) || x >= 0 ? int(x) : int(x) - 1 }
function ceil_(x) { return -floor_(-x) }

{ value[$1 SUBSEP $2] = $3 + 0; have[$1 SUBSEP $2] = 1 }

END {
	nw = split(workloads, wl, " ")
	nc = split(configs, cl, " ")
	# Palette (Tableau 10 + two), one colour per configuration.
	np = split("#4e79a7 #f28e2b #e15759 #76b7b2 #59a14f #edc948 #b07aa1 #ff9da7 #9c755f #bab0ac #1f77b4 #17becf", pal, " ")

	vmin = 0; vmax = 0
	for (k in value) {
		if (value[k] < vmin) vmin = value[k]
		if (value[k] > vmax) vmax = value[k]
	}
	if (vmax == vmin) vmax = vmin + 1
	step = nice_step(vmax - vmin)
	ylo = floor_(vmin / step) * step
	yhi = ceil_(vmax / step) * step

	bar_w = 16; group_gap = 28
	left = 80; top = 50; plot_h = 360; legend_w = 180
	group_w = nc * bar_w
	plot_w = nw * group_w + (nw + 1) * group_gap
	width = left + plot_w + legend_w
	if (width < left + 10 * length(title)) width = left + 10 * length(title)  # room for the title
	height = top + plot_h + 80

	printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n", width, height, width, height
	printf "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
	printf "<text x=\"%d\" y=\"24\" font-size=\"15\" font-weight=\"bold\">%s</text>\n", left, xml(title)

	# Grid, tick labels, and the zero line drawn darker.
	for (t = ylo; t <= yhi + step / 2; t += step) {
		yy = y(t)
		printf "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\"/>\n", left, yy, left + plot_w, yy, (t > -step / 1e6 && t < step / 1e6) ? "black" : "#dddddd"
		printf "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", left - 6, yy + 4, (t > -step / 1e6 && t < step / 1e6) ? 0 : t
	}
	printf "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", left, top, left, top + plot_h

	# Bars, each with a tooltip and its value written along it.
	for (i = 1; i <= nw; ++i) {
		gx = left + group_gap + (i - 1) * (group_w + group_gap)
		for (j = 1; j <= nc; ++j) {
			k = wl[i] SUBSEP cl[j]
			if (!(k in have)) continue
			v = value[k]
			x = gx + (j - 1) * bar_w
			y0 = y(0); y1 = y(v)
			printf "<rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" fill=\"%s\"><title>%s %s: %+.1f%%</title></rect>\n", x + 1, (y1 < y0 ? y1 : y0), bar_w - 2, (y1 < y0 ? y0 - y1 : y1 - y0), pal[(j - 1) % np + 1], xml(wl[i]), xml(cl[j]), v
			ly = v >= 0 ? y1 - 3 : y1 + 3
			printf "<text transform=\"translate(%.1f,%.1f) rotate(-90)\" font-size=\"9\" text-anchor=\"%s\">%.0f</text>\n", x + bar_w / 2 + 3, ly, (v >= 0 ? "start" : "end"), v
		}
		printf "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", gx + group_w / 2, top + plot_h + 32, xml(wl[i])
	}

	# Axis labels.
	printf "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-weight=\"bold\">workload</text>\n", left + plot_w / 2, top + plot_h + 62
	printf "<text transform=\"translate(22,%.1f) rotate(-90)\" text-anchor=\"middle\" font-weight=\"bold\">overhead vs XPTI off (%%, guest cycles/op)</text>\n", top + plot_h / 2

	# Legend.
	lx = left + plot_w + 20
	printf "<text x=\"%d\" y=\"%d\" font-weight=\"bold\">configuration</text>\n", lx, top + 4
	for (j = 1; j <= nc; ++j) {
		ly = top + 12 + (j - 1) * 20
		printf "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"14\" fill=\"%s\"/>\n", lx, ly, pal[(j - 1) % np + 1]
		printf "<text x=\"%d\" y=\"%d\">%s</text>\n", lx + 20, ly + 11, xml(cl[j])
	}
	printf "</svg>\n"
}
