#!/usr/bin/env bash
# deploy/check.sh [--deps|--cppcheck|--format|--tidy|--all] [BUILD_DIR]
# Static checks, each exits non-zero on any finding:
#   --deps      the dependency graph between the top folders (README.md,
#               "Layout"): base < {bpf, policy} < controller-client < dataplane,
#               bpf and policy siblings (neither uses the other), tests/ free.
#               Every #include and CMake link/include edge must point down
#               the graph or stay in its folder; a quoted include other than
#               tp/NS/... must be a header beside the file (a module's own,
#               private header) or a generated one; public headers live in
#               TOP/include/tp/NS/ with include guard TP_NS_NAME_H.
#               Findings: FILE:LINE: FROM -> TO: what. (CI: tests/run.sh)
#   --cppcheck  cppcheck (CI)
#   --format    clang-format conformance (CI)
#   --tidy      clang-tidy (needs BUILD_DIR/compile_commands.json)
#   --all       all of the above
set -uo pipefail
what=--all
case "${1:-}" in --*) what=$1; shift ;; esac
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
mapfile -t srcs < <(git ls-files '*.c' '*.h' 2>/dev/null | grep -vE '^tests/fuzz/.*/corpus/')
[ ${#srcs[@]} -gt 0 ] || mapfile -t srcs < <(find base dataplane policy controller-client bpf tests -name '*.[ch]' 2>/dev/null | sort)
rc=0
if [ "$what" = --deps ] || [ "$what" = --all ]; then
	echo "check: deps (base < bpf, policy < controller-client < dataplane)"
	cmakes=$(git ls-files '*CMakeLists.txt' 2>/dev/null)
	[ -n "$cmakes" ] || cmakes=$(find base bpf policy controller-client dataplane -name CMakeLists.txt | sort)
	printf '%s\n' "${srcs[@]}" | grep -E '^(base|bpf|policy|controller-client|dataplane)/' |
		TP_DEPS_CMAKES=$(grep -E '^(base|bpf|policy|controller-client|dataplane)/' <<<"$cmakes") perl -e "$(cat <<'DEPS'
use strict;
use warnings;
# rank: an edge FROM -> TO is allowed when TO is FROM or ranks lower;
# bpf and policy share a rank: siblings, neither may use the other.
my %rank = (base => 0, bpf => 1, policy => 1, 'controller-client' => 2, dataplane => 3);
my %ns = (base => 'base', bpf => 'bpf', policy => 'policy', ctrl => 'controller-client',
	  dp => 'dataplane');
my %nsof = reverse %ns;
my $graph = 'base < bpf, policy < controller-client < dataplane';
my ($n_files, $n_inc, $n_link, @bad) = (0, 0, 0);
sub top { my ($f) = @_; $f =~ m{^([^/]+)/} ? $1 : '' }
sub allowed { my ($from, $to) = @_; $from eq $to || $rank{$to} < $rank{$from} }
sub finding { push @bad, join('', @_) }
my @srcs = map { chomp; $_ } <STDIN>;
my %where; # file name -> the folders holding one: who owns a private header
for (@srcs) { m{([^/]+)$}; push @{$where{$1}}, top($_) }
for my $f (@srcs) {
	my $from = top($f);
	open(my $fh, '<', $f) or next;
	$n_files++;
	my ($line, $guard) = (0, undef);
	(my $dir = $f) =~ s{/[^/]*$}{};
	while (<$fh>) {
		$line++;
		$guard //= $1 if /^\s*#\s*ifndef\s+(\w+)/;
		next unless /^\s*#\s*include\s*(["<])([^">]+)[">]/;
		my ($q, $h) = ($1, $2);
		if ($h =~ m{^tp/(\w+)/}) {
			$n_inc++;
			my $to = $ns{$1};
			if (!$to) {
				finding("$f:$line: $from -> ?: #include \"$h\": tp/$1/ is no folder's namespace");
			} elsif (!allowed($from, $to)) {
				finding("$f:$line: $from -> $to: #include \"$h\" points against the graph ($graph)");
			}
			next;
		}
		next if $q eq '<';
		$n_inc++;
		if ($h =~ m{^tp/}) {
			finding("$f:$line: $from -> ?: #include \"$h\" is not namespaced (tp/NS/NAME.h)");
		} elsif ($h =~ m{(^|/)\.\./}) {
			my @p;
			for (split m{/}, "$dir/$h") { $_ eq '..' ? pop @p : push @p, $_ }
			my $to = top(join('/', @p)) || '?';
			finding("$f:$line: $from -> $to: #include \"$h\" reaches into another module's private directory by a relative path");
		} elsif ($h !~ /\.(pb-c|skel)\.h$/ && !-e "$dir/$h") {
			(my $b = $h) =~ s{.*/}{};
			my $to = join(',', sort keys %{{map { $_ => 1 } @{$where{$b} // ['?']}}});
			finding("$f:$line: $from -> $to: #include \"$h\" is not beside the file: another module's private header");
		}
	}
	close $fh;
	# public headers: TOP/include/tp/NS/NAME.h, guard TP_NS_NAME_H
	if ($f =~ m{^([^/]+)/include/(.*)$}) {
		my ($t, $rest) = ($1, $2);
		if ($rest !~ m{^tp/(\w+)/(\w+)\.h$} || ($ns{$1} // '') ne $t) {
			finding("$f:1: $t: a public header outside $t/include/tp/$nsof{$t}/");
		} else {
			my $want = uc("TP_$1_$2_H");
			finding("$f:1: $t: include guard " . ($guard // 'none') . ", want $want")
				if ($guard // '') ne $want;
		}
	}
}
# CMake: targets and their folders, then link and include edges.
my (%owner, @stmts);
for my $c (split /\n/, $ENV{TP_DEPS_CMAKES}) {
	open(my $fh, '<', $c) or next;
	local $/;
	my $text = <$fh>;
	close $fh;
	(my $nc = $text) =~ s/#[^\n]*//g;
	while ($nc =~ /\b(add_library|add_executable|target_link_libraries|target_include_directories)\s*\(([^)]*)\)/g) {
		my ($cmd, $args, $pos) = ($1, $2, $-[0]);
		my $line = 1 + (() = substr($nc, 0, $pos) =~ /\n/g);
		my @w = split ' ', $args;
		$owner{$w[0]} = top($c) if $cmd =~ /^add_/;
		push @stmts, [$c, $line, $cmd, @w] if $cmd =~ /^target_/;
	}
}
for my $s (@stmts) {
	my ($c, $line, $cmd, $t, @w) = @$s;
	my $from = top($c);
	if ($cmd eq 'target_link_libraries') {
		for my $l (@w) {
			next unless exists $owner{$l};
			$n_link++;
			finding("$c:$line: $from -> $owner{$l}: $t links $l, against the graph ($graph)")
				unless allowed($from, $owner{$l});
		}
		next;
	}
	my $scope = 'PRIVATE';
	for my $d (@w) {
		if ($d =~ /^(PUBLIC|PRIVATE|INTERFACE|SYSTEM|BEFORE|AFTER)$/) {
			$scope = $d unless $d =~ /^(SYSTEM|BEFORE|AFTER)$/;
			next;
		}
		if ($d =~ m{^\$\{CMAKE_SOURCE_DIR\}/([^/]+)(/.*)?$}) {
			my ($to, $path) = ($1, $2 // '');
			next unless exists $rank{$to};
			if (!allowed($from, $to)) {
				finding("$c:$line: $from -> $to: $t includes $d, against the graph ($graph)");
			} elsif ($scope ne 'PRIVATE' && $path ne '/include') {
				finding("$c:$line: $from: $t exports $d ($scope): only TOP/include is public");
			}
		} elsif ($d =~ /^\$\{CMAKE_CURRENT_SOURCE_DIR\}/ && $scope ne 'PRIVATE') {
			finding("$c:$line: $from: $t exports its module folder ($scope): a module's own headers are private");
		}
	}
}
print "$_\n" for @bad;
printf "check: deps: %d files, %d includes, %d link edges, %d against the graph\n",
	$n_files, $n_inc, $n_link, scalar @bad;
exit(@bad ? 1 : 0);
DEPS
)" || rc=1
fi
if [ "$what" = --cppcheck ] || [ "$what" = --all ]; then
	echo "check: cppcheck on ${#srcs[@]} files"
	cppcheck -q --error-exitcode=1 --inline-suppr --std=c11 \
		--enable=warning,portability --suppress=missingIncludeSystem \
		--suppress=unknownMacro -I base/include -I policy/include -I dataplane/include \
		-I bpf/include -I controller-client/include \
		$(printf '%s\n' "${srcs[@]}" | grep '\.c$' | grep -v '^bpf/') || rc=1
fi
if [ "$what" = --format ] || [ "$what" = --all ]; then
	echo "check: clang-format"
	clang-format --dry-run -Werror "${srcs[@]}" || rc=1
fi
if [ "$what" = --tidy ] || [ "$what" = --all ]; then
	echo "check: clang-tidy"
	[ -f "$build/compile_commands.json" ] || { echo "check: no $build/compile_commands.json"; exit 1; }
	clang-tidy -p "$build" --quiet $(printf '%s\n' "${srcs[@]}" | grep '\.c$' | grep -v '^bpf/') || rc=1
fi
exit $rc
