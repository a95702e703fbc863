# Plots of the three studies, each as SVG and PNG next to its CSV.
# usage: gnuplot -e "dir='results'" study/plot.gp
# Columns are looked up by the header names the client writes, so reordering them cannot break a plot.

if (!exists("dir")) dir = "results"
set datafile separator ","
set datafile missing "inf"
set key top left box opaque
set grid
set logscale x 2

# `eval render` draws the plot command held in the string `cmd` into out.svg and out.png.
render = "set terminal svg size 800,500 dynamic font 'sans,12'; set output out.'.svg'; eval cmd; \
          set terminal pngcairo size 800,500 font 'sans,10'; set output out.'.png'; eval cmd; set output"

# ---- 1 accuracy vs resolution ----------------------------------------------------------------------------
acc = dir.'/accuracy/accuracy.csv'
if (system("test -s ".acc." && echo y") eq "y") {
    set title "Accuracy vs resolution (centre square, down to s x s, up to 224)"
    set xlabel "resolution s (pixels)"
    set ylabel "accuracy (%)"
    set yrange [0:100]
    cmd = "plot acc using 'size':'top1' with linespoints lw 2 title 'top-1', \
                acc using 'size':'top5' with linespoints lw 2 title 'top-5'"
    out = dir.'/accuracy/accuracy'
    eval render
    set yrange [*:*]
}

# ---- 2 RTT vs image size ----------------------------------------------------------------------------------
rtts = system("ls ".dir."/rtt/*.csv 2>/dev/null")
if (strlen(rtts) > 0) {
    set title "Round-trip time vs image size (sequential requests)"
    set xlabel "image side (pixels)"
    set ylabel "RTT (ms)"
    set logscale y 10
    name(i) = system('basename '.word(rtts, i).' .csv')
    cmd = "plot for [i=1:words(rtts)] word(rtts, i) using 'size':'mean_ms' with linespoints lw 2 lc i \
               title 'mean, '.name(i), \
           for [i=1:words(rtts)] word(rtts, i) using 'size':'p99_ms' with points pt 6 ps 1.5 lc i \
               title 'p99, '.name(i)"
    out = dir.'/rtt/rtt'
    eval render
    unset logscale y
}

# ---- 3 RTT under Poisson load ---------------------------------------------------------------------------------
load = dir.'/load/load.csv'
if (system("test -s ".load." && echo y") eq "y") {
    workers = system("awk -F, 'NR > 1 { print $1 }' ".load." | sort -un | tr '\\n' ' '")
    set title "Mean RTT under Poisson load: measured (points) vs random-split M/G/1 (lines)"
    set xlabel "mean inter-arrival time I / service time S"
    set ylabel "mean RTT (ms)"
    set logscale y 10
    set key top right
    cmd = "plot for [w in workers] load using (column('workers') == w+0 ? column('factor') : 1/0):'mean_ms' \
               with points pt 7 ps 1.5 lc w+0 title w.' worker(s) measured', \
           for [w in workers] load using (column('workers') == w+0 ? column('factor') : 1/0):'pred_mean_ms' \
               with linespoints lw 2 pt 4 lc w+0 title w.' predicted'"
    out = dir.'/load/load'
    eval render
}

# ---- 3b topology: policies, batching, the step ---------------------------------------------------------------
grid = dir.'/topology/grid.csv'
policies = "random p2c least round-robin"
if (system("test -s ".grid." && echo y") eq "y") {
    tw = system("awk -F, 'NR > 1 { print $3 }' ".grid." | sort -un | tr '\\n' ' '")
    set logscale x 2
    set logscale y 10
    set xlabel "I / S"
    set ylabel "p99 RTT (ms)"
    set key top right
    # Ticks at the grid's interval factors (powers of 2 say nothing here).
    tf = system("awk -F, 'NR > 1 { print $4 + 0 }' ".grid." | sort -gu | tr '\\n' ' '")
    set xtics ()
    do for [f in tf] { set xtics add (f f+0) }
    # One panel per worker count: each policy measured (points) and its model (lines), batching off.
    cmd = "set multiplot layout 1,words(tw) title 'p99 RTT per balancer policy, batching off: measured (points) vs the policy''s model (lines)'; \
           do for [w in tw] { set title w.' worker(s)'; \
             plot for [i=1:4] grid using ((strcol('batching') eq 'off' && strcol('policy') eq word(policies,i) && column('workers') == w+0) ? column('factor') : 1/0):'p99_ms' \
                    with points pt 7 ps 1.3 lc i title word(policies,i), \
                  for [i=1:4] grid using ((strcol('batching') eq 'off' && strcol('policy') eq word(policies,i) && column('workers') == w+0) ? column('factor') : 1/0):'pred_p99_ms' \
                    with lines lw 2 lc i notitle }; \
           unset multiplot"
    out = dir.'/topology/policies'
    set terminal svg size 1200,450 dynamic font 'sans,11'; set output out.'.svg'; eval cmd
    set terminal pngcairo size 1200,450 font 'sans,9'; set output out.'.png'; eval cmd; set output
    # Batching on against off, per worker count, for the default policy (random).
    set title "p99 RTT with batching off and on (policy random): measured (points) vs c x M/G/1 (lines)"
    cmd = "plot for [w in tw] grid using ((strcol('batching') eq 'off' && strcol('policy') eq 'random' && column('workers') == w+0) ? column('factor') : 1/0):'p99_ms' \
               with points pt 7 ps 1.3 lc w+0 title w.' worker(s), off', \
           for [w in tw] grid using ((strcol('batching') eq 'on' && strcol('policy') eq 'random' && column('workers') == w+0) ? column('factor') : 1/0):'p99_ms' \
               with points pt 5 ps 1.3 lc w+0 title w.' worker(s), on', \
           for [w in tw] grid using ((strcol('batching') eq 'off' && strcol('policy') eq 'random' && column('workers') == w+0) ? column('factor') : 1/0):'pred_p99_ms' \
               with lines lw 2 lc w+0 notitle"
    out = dir.'/topology/batching'
    eval render
    set xtics autofreq
}
step = dir.'/topology/step.csv'
if (system("test -s ".step." && echo y") eq "y") {
    unset logscale x
    set logscale y 10
    set title "p99 RTT through a step in the arrival rate (calm, 3x, calm): measured (points) vs fluid prediction (lines)"
    set xlabel "time since the start (s)"
    set ylabel "p99 RTT per bin (ms)"
    set key top right
    cmd = "plot for [i=1:4] step using ((strcol('policy') eq word(policies,i)) ? column('t_s') : 1/0):'p99_ms' \
               with linespoints pt 7 ps 1 lw 1 lc i title word(policies,i), \
           for [i=1:4] step using ((strcol('policy') eq word(policies,i)) ? column('t_s') : 1/0):'pred_p99_ms' \
               with lines lw 2 dt 2 lc i notitle"
    out = dir.'/topology/step'
    eval render
}
