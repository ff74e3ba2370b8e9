;; Kernels over float32 arrays in tfjs-backend-wasm's memory, four lanes at a time (WebAssembly
;; SIMD): GELU, its derivative, sums over rows, the softmax cross-entropy's row statistics and
;; gradient, matrix transposes, and layer normalisation with its input's gradient. Assembled into simd-binaries.ts by
;; assemble-wat.ts; instantiated by simd-kernels.ts, used by wasm-gelu.ts and wasm-sum.ts.
;;
;;   gelu(x)  = x Phi(x),            Phi(x) = (1 + erf(x / sqrt 2)) / 2
;;   gelu'(x) = Phi(x) + x phi(x),   phi(x) = exp(-x^2 / 2) / sqrt(2 pi)
;;
;; erf is Eigen's (and TensorFlow's) float rational approximation, exact to a few ulps on
;; [-4, 4] and +-1 beyond; exp is Cephes' expf: x = n ln 2 + r, a degree-6 polynomial in r,
;; times 2^n built in the exponent bits. Constants are v128.const, not splats: V8 rebuilds a
;; splat at every use, which made the loop 1.7 times slower.
(module
  (import "env" "memory" (memory 1 65536 MEMORY_SHARING))

  (func $erf (param $x v128) (result v128)
    (local $x2 v128) (local $p v128) (local $q v128)
    (local.set $x (f32x4.max (f32x4.min (local.get $x) (v128.const f32x4 4 4 4 4)) (v128.const f32x4 -4 -4 -4 -4)))
    (local.set $x2 (f32x4.mul (local.get $x) (local.get $x)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $x2) (v128.const f32x4 -2.72614225801306e-10 -2.72614225801306e-10 -2.72614225801306e-10 -2.72614225801306e-10)) (v128.const f32x4 2.77068142495902e-08 2.77068142495902e-08 2.77068142495902e-08 2.77068142495902e-08)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $x2) (local.get $p)) (v128.const f32x4 -2.10102402082508e-06 -2.10102402082508e-06 -2.10102402082508e-06 -2.10102402082508e-06)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $x2) (local.get $p)) (v128.const f32x4 -5.69250639462346e-05 -5.69250639462346e-05 -5.69250639462346e-05 -5.69250639462346e-05)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $x2) (local.get $p)) (v128.const f32x4 -7.34990630326855e-04 -7.34990630326855e-04 -7.34990630326855e-04 -7.34990630326855e-04)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $x2) (local.get $p)) (v128.const f32x4 -2.95459980854025e-03 -2.95459980854025e-03 -2.95459980854025e-03 -2.95459980854025e-03)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $x2) (local.get $p)) (v128.const f32x4 -1.60960333262415e-02 -1.60960333262415e-02 -1.60960333262415e-02 -1.60960333262415e-02)))
    (local.set $q (f32x4.add (f32x4.mul (local.get $x2) (v128.const f32x4 -1.45660718464996e-05 -1.45660718464996e-05 -1.45660718464996e-05 -1.45660718464996e-05)) (v128.const f32x4 -2.13374055278905e-04 -2.13374055278905e-04 -2.13374055278905e-04 -2.13374055278905e-04)))
    (local.set $q (f32x4.add (f32x4.mul (local.get $x2) (local.get $q)) (v128.const f32x4 -1.68282697438203e-03 -1.68282697438203e-03 -1.68282697438203e-03 -1.68282697438203e-03)))
    (local.set $q (f32x4.add (f32x4.mul (local.get $x2) (local.get $q)) (v128.const f32x4 -7.37332916720468e-03 -7.37332916720468e-03 -7.37332916720468e-03 -7.37332916720468e-03)))
    (local.set $q (f32x4.add (f32x4.mul (local.get $x2) (local.get $q)) (v128.const f32x4 -1.42647390514189e-02 -1.42647390514189e-02 -1.42647390514189e-02 -1.42647390514189e-02)))
    (f32x4.div (f32x4.mul (local.get $x) (local.get $p)) (local.get $q)))

  (func $exp (param $x v128) (result v128)
    (local $n v128) (local $r v128) (local $y v128)
    (local.set $x (f32x4.max (f32x4.min (local.get $x) (v128.const f32x4 88.3762626647949 88.3762626647949 88.3762626647949 88.3762626647949)) (v128.const f32x4 -87.3365478515625 -87.3365478515625 -87.3365478515625 -87.3365478515625)))
    (local.set $n (f32x4.nearest (f32x4.mul (local.get $x) (v128.const f32x4 1.44269504088896341 1.44269504088896341 1.44269504088896341 1.44269504088896341))))
    ;; r = x - n ln 2, with ln 2 in two parts so that n ln 2 is exact enough
    (local.set $r (f32x4.sub (local.get $x) (f32x4.mul (local.get $n) (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375))))
    (local.set $r (f32x4.sub (local.get $r) (f32x4.mul (local.get $n) (v128.const f32x4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4))))
    (local.set $y (f32x4.add (f32x4.mul (local.get $r) (v128.const f32x4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4)) (v128.const f32x4 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3)))
    (local.set $y (f32x4.add (f32x4.mul (local.get $r) (local.get $y)) (v128.const f32x4 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3)))
    (local.set $y (f32x4.add (f32x4.mul (local.get $r) (local.get $y)) (v128.const f32x4 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2)))
    (local.set $y (f32x4.add (f32x4.mul (local.get $r) (local.get $y)) (v128.const f32x4 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1)))
    (local.set $y (f32x4.add (f32x4.mul (local.get $r) (local.get $y)) (v128.const f32x4 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1)))
    (local.set $y (f32x4.add (f32x4.add (f32x4.mul (f32x4.mul (local.get $r) (local.get $r)) (local.get $y)) (local.get $r)) (v128.const f32x4 1 1 1 1)))
    ;; times 2^n: (n + 127) << 23 is 2^n's bit pattern
    (f32x4.mul (local.get $y)
      (i32x4.shl (i32x4.add (i32x4.trunc_sat_f32x4_s (local.get $n)) (v128.const i32x4 127 127 127 127)) (i32.const 23))))

  ;; Phi(x) = (1 + erf(x / sqrt 2)) / 2
  (func $cdf (param $x v128) (result v128)
    (f32x4.mul
      (f32x4.add (call $erf (f32x4.mul (local.get $x) (v128.const f32x4 0.70710678118654752 0.70710678118654752 0.70710678118654752 0.70710678118654752))) (v128.const f32x4 1 1 1 1))
      (v128.const f32x4 0.5 0.5 0.5 0.5)))

  ;; The last step starts at n - 4 (overlapping the one before) so that no lane runs past the
  ;; end: the outputs are separate buffers, so recomputing a few elements changes nothing.
  ;; Needs n >= 4.
  (func $last (param $i i32) (param $n i32) (result i32)
    (select (local.get $i) (i32.shl (i32.sub (local.get $n) (i32.const 4)) (i32.const 2))
      (i32.le_u (i32.add (local.get $i) (i32.const 16)) (i32.shl (local.get $n) (i32.const 2)))))

  ;; y[i] = gelu(x[i]) for i < n (byte offsets x, y)
  (func (export "gelu") (param $x i32) (param $y i32) (param $n i32)
    (local $i i32) (local $at i32) (local $v v128)
    (loop $next
      (local.set $at (call $last (local.get $i) (local.get $n)))
      (local.set $v (v128.load align=4 (i32.add (local.get $x) (local.get $at))))
      (v128.store align=4 (i32.add (local.get $y) (local.get $at)) (f32x4.mul (local.get $v) (call $cdf (local.get $v))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br_if $next (i32.lt_u (local.get $i) (i32.shl (local.get $n) (i32.const 2))))))

  ;; dx[i] = dy[i] gelu'(x[i]) for i < n (byte offsets x, dy, dx)
  (func (export "geluGrad") (param $x i32) (param $dy i32) (param $dx i32) (param $n i32)
    (local $i i32) (local $at i32) (local $v v128) (local $pdf v128)
    (loop $next
      (local.set $at (call $last (local.get $i) (local.get $n)))
      (local.set $v (v128.load align=4 (i32.add (local.get $x) (local.get $at))))
      (local.set $pdf (f32x4.mul
        (call $exp (f32x4.mul (f32x4.mul (local.get $v) (local.get $v)) (v128.const f32x4 -0.5 -0.5 -0.5 -0.5)))
        (v128.const f32x4 0.3989422804014327 0.3989422804014327 0.3989422804014327 0.3989422804014327)))
      (v128.store align=4 (i32.add (local.get $dx) (local.get $at))
        (f32x4.mul (v128.load align=4 (i32.add (local.get $dy) (local.get $at)))
          (f32x4.add (call $cdf (local.get $v)) (f32x4.mul (local.get $v) (local.get $pdf)))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br_if $next (i32.lt_u (local.get $i) (i32.shl (local.get $n) (i32.const 2))))))

  ;; out[c] = sum over r < rows of x[r cols + c], for c < cols (byte offsets x, out). Row by row,
  ;; so that x is read in order and out stays in cache; the last cols % 4 columns one at a time.
  (func (export "sumRows") (param $x i32) (param $out i32) (param $rows i32) (param $cols i32)
    (local $r i32) (local $c i32) (local $row i32) (local $wide i32) (local $end i32)
    (local.set $wide (i32.shl (i32.and (local.get $cols) (i32.const -4)) (i32.const 2)))
    (local.set $end (i32.shl (local.get $cols) (i32.const 2)))
    (memory.fill (local.get $out) (i32.const 0) (local.get $end))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $row (i32.add (local.get $x) (i32.mul (local.get $r) (local.get $end))))
        (local.set $c (i32.const 0))
        (block $wideDone
          (loop $wideLoop
            (br_if $wideDone (i32.ge_u (local.get $c) (local.get $wide)))
            (v128.store align=4 (i32.add (local.get $out) (local.get $c))
              (f32x4.add (v128.load align=4 (i32.add (local.get $out) (local.get $c)))
                (v128.load align=4 (i32.add (local.get $row) (local.get $c)))))
            (local.set $c (i32.add (local.get $c) (i32.const 16)))
            (br $wideLoop)))
        (block $tailDone
          (loop $tail
            (br_if $tailDone (i32.ge_u (local.get $c) (local.get $end)))
            (f32.store (i32.add (local.get $out) (local.get $c))
              (f32.add (f32.load (i32.add (local.get $out) (local.get $c)))
                (f32.load (i32.add (local.get $row) (local.get $c)))))
            (local.set $c (i32.add (local.get $c) (i32.const 4)))
            (br $tail)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rows))))

  ;; The softmax's parts: for each row r of x (rows x cols, byte offsets x, e, stats),
  ;; stats[2r] = max over c of x[r, c], e[r, c] = exp(x[r, c] - max), stats[2r + 1] = the sum of
  ;; row r of e. The maximum takes the last four columns again (harmless for a maximum); the
  ;; exponentials take the last cols % 4 one lane at a time. Needs cols >= 4.
  (func (export "softmaxParts") (param $x i32) (param $e i32) (param $stats i32) (param $rows i32) (param $cols i32)
    (local $r i32) (local $i i32) (local $row i32) (local $eRow i32) (local $end i32) (local $wide i32)
    (local $m v128) (local $s v128) (local $v v128) (local $max f32)
    (local.set $end (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $wide (i32.shl (i32.and (local.get $cols) (i32.const -4)) (i32.const 2)))
    (block $done
      (loop $rowLoop
        (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $row (i32.add (local.get $x) (i32.mul (local.get $r) (local.get $end))))
        (local.set $eRow (i32.add (local.get $e) (i32.mul (local.get $r) (local.get $end))))
        (local.set $m (v128.load align=4 (i32.add (local.get $row) (i32.sub (local.get $end) (i32.const 16)))))
        (local.set $i (i32.const 0))
        (block $maxDone
          (loop $maxLoop
            (br_if $maxDone (i32.ge_u (local.get $i) (local.get $wide)))
            (local.set $m (f32x4.max (local.get $m) (v128.load align=4 (i32.add (local.get $row) (local.get $i)))))
            (local.set $i (i32.add (local.get $i) (i32.const 16)))
            (br $maxLoop)))
        (local.set $max (f32.max
          (f32.max (f32x4.extract_lane 0 (local.get $m)) (f32x4.extract_lane 1 (local.get $m)))
          (f32.max (f32x4.extract_lane 2 (local.get $m)) (f32x4.extract_lane 3 (local.get $m)))))
        (local.set $m (f32x4.splat (local.get $max)))
        (local.set $s (v128.const f32x4 0 0 0 0))
        (local.set $i (i32.const 0))
        (block $expDone
          (loop $expLoop
            (br_if $expDone (i32.ge_u (local.get $i) (local.get $wide)))
            (local.set $v (call $exp (f32x4.sub (v128.load align=4 (i32.add (local.get $row) (local.get $i))) (local.get $m))))
            (v128.store align=4 (i32.add (local.get $eRow) (local.get $i)) (local.get $v))
            (local.set $s (f32x4.add (local.get $s) (local.get $v)))
            (local.set $i (i32.add (local.get $i) (i32.const 16)))
            (br $expLoop)))
        (block $tailDone
          (loop $tail
            (br_if $tailDone (i32.ge_u (local.get $i) (local.get $end)))
            (local.set $v (f32x4.replace_lane 0 (v128.const f32x4 0 0 0 0)
              (f32x4.extract_lane 0 (call $exp (f32x4.sub (v128.load32_splat align=4 (i32.add (local.get $row) (local.get $i))) (local.get $m))))))
            (f32.store (i32.add (local.get $eRow) (local.get $i)) (f32x4.extract_lane 0 (local.get $v)))
            (local.set $s (f32x4.add (local.get $s) (local.get $v)))
            (local.set $i (i32.add (local.get $i) (i32.const 4)))
            (br $tail)))
        (f32.store (i32.add (local.get $stats) (i32.shl (local.get $r) (i32.const 3))) (local.get $max))
        (f32.store offset=4 (i32.add (local.get $stats) (i32.shl (local.get $r) (i32.const 3))) (call $hsum (local.get $s)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rowLoop))))

  ;; out[r, c] = e[r, c] scale / stats[2r + 1], for r < rows, c < cols (byte offsets e, stats,
  ;; out): softmaxParts' exponentials and sums make the softmax times scale. Needs cols >= 4.
  (func (export "softmaxScaled") (param $e i32) (param $stats i32) (param $out i32) (param $rows i32) (param $cols i32) (param $scale f32)
    (local $r i32) (local $i i32) (local $at i32) (local $end i32) (local $row i32) (local $outRow i32) (local $k v128)
    (local.set $end (i32.shl (local.get $cols) (i32.const 2)))
    (block $done
      (loop $rowLoop
        (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $row (i32.add (local.get $e) (i32.mul (local.get $r) (local.get $end))))
        (local.set $outRow (i32.add (local.get $out) (i32.mul (local.get $r) (local.get $end))))
        (local.set $k (f32x4.splat (f32.div (local.get $scale)
          (f32.load offset=4 (i32.add (local.get $stats) (i32.shl (local.get $r) (i32.const 3)))))))
        (local.set $i (i32.const 0))
        (loop $next
          (local.set $at (call $last (local.get $i) (local.get $cols)))
          (v128.store align=4 (i32.add (local.get $outRow) (local.get $at))
            (f32x4.mul (v128.load align=4 (i32.add (local.get $row) (local.get $at))) (local.get $k)))
          (local.set $i (i32.add (local.get $i) (i32.const 16)))
          (br_if $next (i32.lt_u (local.get $i) (local.get $end))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rowLoop))))

  ;; out[c, r] = x[r, c] for the rows and columns below multiples of 4 (byte offsets x, out; x is
  ;; rows x cols, out cols x rows): 4x4 blocks transposed in registers by shuffles, visited in
  ;; 32x32 tiles so that the rows read and the rows written stay in cache. The caller copies the
  ;; last rows % 4 rows and cols % 4 columns.
  (func (export "transpose") (param $x i32) (param $out i32) (param $rows i32) (param $cols i32)
    (local $i0 i32) (local $j0 i32) (local $i i32) (local $j i32) (local $iEnd i32) (local $jEnd i32)
    (local $rows4 i32) (local $cols4 i32) (local $rowBytes i32) (local $colBytes i32) (local $src i32) (local $dst i32)
    (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $rows4 (i32.and (local.get $rows) (i32.const -4)))
    (local.set $cols4 (i32.and (local.get $cols) (i32.const -4)))
    (local.set $rowBytes (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $colBytes (i32.shl (local.get $rows) (i32.const 2)))
    (block $done
      (loop $tileRows
        (br_if $done (i32.ge_u (local.get $i0) (local.get $rows4)))
        (local.set $iEnd (select (i32.add (local.get $i0) (i32.const 32)) (local.get $rows4)
          (i32.lt_u (i32.add (local.get $i0) (i32.const 32)) (local.get $rows4))))
        (local.set $j0 (i32.const 0))
        (block $tileColsDone
          (loop $tileCols
            (br_if $tileColsDone (i32.ge_u (local.get $j0) (local.get $cols4)))
            (local.set $jEnd (select (i32.add (local.get $j0) (i32.const 32)) (local.get $cols4)
              (i32.lt_u (i32.add (local.get $j0) (i32.const 32)) (local.get $cols4))))
            (local.set $i (local.get $i0))
            (block $blockRowsDone
              (loop $blockRows
                (br_if $blockRowsDone (i32.ge_u (local.get $i) (local.get $iEnd)))
                (local.set $j (local.get $j0))
                (block $blocksDone
                  (loop $blocks
                    (br_if $blocksDone (i32.ge_u (local.get $j) (local.get $jEnd)))
                    (local.set $src (i32.add (local.get $x) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $cols)) (local.get $j)) (i32.const 2))))
                    (local.set $r0 (v128.load align=4 (local.get $src)))
                    (local.set $r1 (v128.load align=4 (i32.add (local.get $src) (local.get $rowBytes))))
                    (local.set $r2 (v128.load align=4 (i32.add (local.get $src) (i32.shl (local.get $rowBytes) (i32.const 1)))))
                    (local.set $r3 (v128.load align=4 (i32.add (local.get $src) (i32.mul (local.get $rowBytes) (i32.const 3)))))
                    ;; t0 = a0 b0 a1 b1, t1 = a2 b2 a3 b3, t2 = c0 d0 c1 d1, t3 = c2 d2 c3 d3
                    (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r1)))
                    (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r1)))
                    (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r2) (local.get $r3)))
                    (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r2) (local.get $r3)))
                    (local.set $dst (i32.add (local.get $out) (i32.shl (i32.add (i32.mul (local.get $j) (local.get $rows)) (local.get $i)) (i32.const 2))))
                    (v128.store align=4 (local.get $dst) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
                    (v128.store align=4 (i32.add (local.get $dst) (local.get $colBytes))
                      (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
                    (v128.store align=4 (i32.add (local.get $dst) (i32.shl (local.get $colBytes) (i32.const 1)))
                      (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
                    (v128.store align=4 (i32.add (local.get $dst) (i32.mul (local.get $colBytes) (i32.const 3)))
                      (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
                    (local.set $j (i32.add (local.get $j) (i32.const 4)))
                    (br $blocks)))
                (local.set $i (i32.add (local.get $i) (i32.const 4)))
                (br $blockRows)))
            (local.set $j0 (i32.add (local.get $j0) (i32.const 32)))
            (br $tileCols)))
        (local.set $i0 (i32.add (local.get $i0) (i32.const 32)))
        (br $tileRows))))

  (func $hsum (param $v v128) (result f32)
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
      (f32.add (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v)))))

  ;; Layer normalisation of the rows of x (rows x cols, cols a multiple of 4; byte offsets):
  ;; normalised = (x - mean) rstd with rstd[r] = 1 / sqrt(var + eps) (the biased variance), and
  ;; y = normalised gamma + beta.
  (func (export "layerNorm") (param $x i32) (param $gamma i32) (param $beta i32) (param $y i32) (param $normalised i32) (param $rstd i32) (param $rows i32) (param $cols i32) (param $eps f32)
    (local $r i32) (local $i i32) (local $end i32) (local $row i32) (local $acc v128) (local $mean v128) (local $d v128) (local $s f32) (local $n f32)
    (local.set $end (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $n (f32.convert_i32_u (local.get $cols)))
    (block $done
      (loop $rowLoop
        (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $row (i32.mul (local.get $r) (local.get $end)))
        (local.set $acc (v128.const f32x4 0 0 0 0))
        (local.set $i (i32.const 0))
        (loop $sum
          (local.set $acc (f32x4.add (local.get $acc) (v128.load align=4 (i32.add (i32.add (local.get $x) (local.get $row)) (local.get $i)))))
          (local.set $i (i32.add (local.get $i) (i32.const 16)))
          (br_if $sum (i32.lt_u (local.get $i) (local.get $end))))
        (local.set $mean (f32x4.splat (f32.div (call $hsum (local.get $acc)) (local.get $n))))
        (local.set $acc (v128.const f32x4 0 0 0 0))
        (local.set $i (i32.const 0))
        (loop $center
          (local.set $d (f32x4.sub (v128.load align=4 (i32.add (i32.add (local.get $x) (local.get $row)) (local.get $i))) (local.get $mean)))
          (v128.store align=4 (i32.add (i32.add (local.get $normalised) (local.get $row)) (local.get $i)) (local.get $d))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (local.get $d) (local.get $d))))
          (local.set $i (i32.add (local.get $i) (i32.const 16)))
          (br_if $center (i32.lt_u (local.get $i) (local.get $end))))
        (local.set $s (f32.div (f32.const 1) (f32.sqrt (f32.add (f32.div (call $hsum (local.get $acc)) (local.get $n)) (local.get $eps)))))
        (f32.store (i32.add (local.get $rstd) (i32.shl (local.get $r) (i32.const 2))) (local.get $s))
        (local.set $mean (f32x4.splat (local.get $s)))
        (local.set $i (i32.const 0))
        (loop $scale
          (local.set $d (f32x4.mul (v128.load align=4 (i32.add (i32.add (local.get $normalised) (local.get $row)) (local.get $i))) (local.get $mean)))
          (v128.store align=4 (i32.add (i32.add (local.get $normalised) (local.get $row)) (local.get $i)) (local.get $d))
          (v128.store align=4 (i32.add (i32.add (local.get $y) (local.get $row)) (local.get $i))
            (f32x4.add (f32x4.mul (local.get $d) (v128.load align=4 (i32.add (local.get $gamma) (local.get $i))))
              (v128.load align=4 (i32.add (local.get $beta) (local.get $i)))))
          (local.set $i (i32.add (local.get $i) (i32.const 16)))
          (br_if $scale (i32.lt_u (local.get $i) (local.get $end))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rowLoop))))

  ;; The gradient of layerNorm's x for dy (rows x cols, cols a multiple of 4; byte offsets), from
  ;; its normalised rows and rstd: with g = dy gamma, dx = rstd (g - mean(g) - normalised
  ;; mean(g normalised)).
  (func (export "layerNormGrad") (param $dy i32) (param $normalised i32) (param $rstd i32) (param $gamma i32) (param $dx i32) (param $rows i32) (param $cols i32)
    (local $r i32) (local $i i32) (local $end i32) (local $row i32) (local $a v128) (local $b v128) (local $g v128) (local $v v128) (local $dn v128) (local $s v128) (local $n f32)
    (local.set $end (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $n (f32.convert_i32_u (local.get $cols)))
    (block $done
      (loop $rowLoop
        (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $row (i32.mul (local.get $r) (local.get $end)))
        (local.set $a (v128.const f32x4 0 0 0 0))
        (local.set $b (v128.const f32x4 0 0 0 0))
        (local.set $i (i32.const 0))
        (loop $sums
          (local.set $g (v128.load align=4 (i32.add (i32.add (local.get $dy) (local.get $row)) (local.get $i))))
          (local.set $v (v128.load align=4 (i32.add (i32.add (local.get $normalised) (local.get $row)) (local.get $i))))
          (local.set $dn (f32x4.mul (local.get $g) (v128.load align=4 (i32.add (local.get $gamma) (local.get $i)))))
          (local.set $a (f32x4.add (local.get $a) (local.get $dn)))
          (local.set $b (f32x4.add (local.get $b) (f32x4.mul (local.get $dn) (local.get $v))))
          (local.set $i (i32.add (local.get $i) (i32.const 16)))
          (br_if $sums (i32.lt_u (local.get $i) (local.get $end))))
        (local.set $a (f32x4.splat (f32.div (call $hsum (local.get $a)) (local.get $n))))
        (local.set $b (f32x4.splat (f32.div (call $hsum (local.get $b)) (local.get $n))))
        (local.set $s (v128.load32_splat align=4 (i32.add (local.get $rstd) (i32.shl (local.get $r) (i32.const 2)))))
        (local.set $i (i32.const 0))
        (loop $grad
          (local.set $dn (f32x4.mul (v128.load align=4 (i32.add (i32.add (local.get $dy) (local.get $row)) (local.get $i)))
            (v128.load align=4 (i32.add (local.get $gamma) (local.get $i)))))
          (local.set $v (v128.load align=4 (i32.add (i32.add (local.get $normalised) (local.get $row)) (local.get $i))))
          (v128.store align=4 (i32.add (i32.add (local.get $dx) (local.get $row)) (local.get $i))
            (f32x4.mul (f32x4.sub (f32x4.sub (local.get $dn) (local.get $a)) (f32x4.mul (local.get $v) (local.get $b))) (local.get $s)))
          (local.set $i (i32.add (local.get $i) (i32.const 16)))
          (br_if $grad (i32.lt_u (local.get $i) (local.get $end))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rowLoop))))
)
