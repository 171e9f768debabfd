#include "engines/verify/vnnlib.h"

#include <cctype>
#include <cstdlib>
#include <map>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engines/core/status_macros.h"

namespace crucible {
namespace {

constexpr size_t kMaxCases = 100000;

struct Token {
  std::string text;
  int line = 0;
};

struct SExpr {
  bool is_list = false;
  Token atom;       // when !is_list
  int line = 0;     // line of the opening parenthesis or of the atom
  std::vector<SExpr> items;
};

absl::Status Error(int line, const std::string& token, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("property line ", line, " at '", token, "': ", what));
}

std::vector<Token> Tokenize(std::string_view text) {
  std::vector<Token> tokens;
  int line = 1;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
      ++i;
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == ';') {
      while (i < text.size() && text[i] != '\n') ++i;
    } else if (c == '(' || c == ')') {
      tokens.push_back({std::string(1, c), line});
      ++i;
    } else {
      const size_t start = i;
      while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i])) && text[i] != '(' &&
             text[i] != ')' && text[i] != ';') {
        ++i;
      }
      tokens.push_back({std::string(text.substr(start, i - start)), line});
    }
  }
  return tokens;
}

absl::StatusOr<SExpr> ParseSExpr(const std::vector<Token>& tokens, size_t& pos, int depth) {
  if (depth > 1000) return Error(tokens[pos].line, tokens[pos].text, "nesting too deep");
  const Token& t = tokens[pos++];
  if (t.text == ")") return Error(t.line, t.text, "unexpected ')'");
  SExpr e;
  e.line = t.line;
  if (t.text != "(") {
    e.atom = t;
    return e;
  }
  e.is_list = true;
  while (true) {
    if (pos >= tokens.size()) return Error(t.line, "(", "this '(' is never closed");
    if (tokens[pos].text == ")") {
      ++pos;
      return e;
    }
    ASSIGN_OR_RETURN(SExpr item, ParseSExpr(tokens, pos, depth + 1));
    e.items.push_back(std::move(item));
  }
}

bool ParseNumber(const std::string& s, double& value) {
  if (s.empty()) return false;
  char* end = nullptr;
  value = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() && (std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '-' ||
                                         s[0] == '+' || s[0] == '.');
}

// A linear term: constant + sum coefficient * variable; variables are keyed
// as 'X'/'Y' and index.
struct Linear {
  double constant = 0.0;
  std::map<std::pair<char, int64_t>, double> terms;

  void Add(const Linear& other, double factor) {
    constant += factor * other.constant;
    for (const auto& [var, c] : other.terms) terms[var] += factor * c;
  }
};

// One atom: lhs <= 0.
using Conjunction = std::vector<Linear>;
using Dnf = std::vector<Conjunction>;

class Parser {
 public:
  absl::StatusOr<Property> Parse(std::string_view text) {
    const std::vector<Token> tokens = Tokenize(text);
    Dnf dnf = {Conjunction{}};
    size_t pos = 0;
    while (pos < tokens.size()) {
      ASSIGN_OR_RETURN(SExpr e, ParseSExpr(tokens, pos, 0));
      if (!e.is_list || e.items.empty() || e.items[0].is_list) {
        return Error(e.line, e.is_list ? "(" : e.atom.text, "expected (declare-const ...) or (assert ...)");
      }
      const std::string& head = e.items[0].atom.text;
      if (head == "declare-const") {
        RETURN_IF_ERROR(Declare(e));
      } else if (head == "assert") {
        if (e.items.size() != 2) return Error(e.line, "assert", "assert takes exactly one formula");
        ASSIGN_OR_RETURN(Dnf f, Formula(e.items[1]));
        ASSIGN_OR_RETURN(dnf, And(dnf, f, e.line));
      } else {
        return Error(e.line, head, "unsupported command (expected declare-const or assert)");
      }
    }
    return Build(dnf);
  }

 private:
  absl::Status Declare(const SExpr& e) {
    if (e.items.size() != 3 || e.items[1].is_list || e.items[2].is_list) {
      return Error(e.line, "declare-const", "expected (declare-const NAME Real)");
    }
    const Token& name = e.items[1].atom;
    if (e.items[2].atom.text != "Real") return Error(e.line, e.items[2].atom.text, "only Real constants are supported");
    char kind;
    int64_t index;
    if (!VariableName(name.text, kind, index)) return Error(name.line, name.text, "variables must be named X_i or Y_i");
    auto& declared = kind == 'X' ? inputs_ : outputs_;
    if (declared.contains(index)) return Error(name.line, name.text, "declared twice");
    declared[index] = name.line;
    return absl::OkStatus();
  }

  static bool VariableName(const std::string& s, char& kind, int64_t& index) {
    if (s.size() < 3 || (s[0] != 'X' && s[0] != 'Y') || s[1] != '_') return false;
    for (size_t i = 2; i < s.size(); ++i) {
      if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    }
    if (s.size() > 12) return false;
    kind = s[0];
    index = std::stoll(s.substr(2));
    return true;
  }

  absl::StatusOr<Dnf> And(const Dnf& a, const Dnf& b, int line) {
    if (a.size() * b.size() > kMaxCases) {
      return Error(line, "and", absl::StrCat("the property has more than ", kMaxCases, " cases"));
    }
    Dnf out;
    for (const Conjunction& x : a) {
      for (const Conjunction& y : b) {
        Conjunction c = x;
        c.insert(c.end(), y.begin(), y.end());
        out.push_back(std::move(c));
      }
    }
    return out;
  }

  absl::StatusOr<Dnf> Formula(const SExpr& e) {
    if (!e.is_list || e.items.empty() || e.items[0].is_list) {
      return Error(e.line, e.is_list ? "(" : e.atom.text, "expected a formula (and, or, <=, >=, <, >)");
    }
    const std::string& op = e.items[0].atom.text;
    if (op == "and" || op == "or") {
      Dnf result = op == "and" ? Dnf{Conjunction{}} : Dnf{};
      for (size_t i = 1; i < e.items.size(); ++i) {
        ASSIGN_OR_RETURN(Dnf f, Formula(e.items[i]));
        if (op == "and") {
          ASSIGN_OR_RETURN(result, And(result, f, e.line));
        } else {
          if (result.size() + f.size() > kMaxCases) return Error(e.line, op, "too many cases");
          result.insert(result.end(), f.begin(), f.end());
        }
      }
      return result;
    }
    if (op == "<=" || op == ">=" || op == "<" || op == ">") {
      if (e.items.size() != 3) return Error(e.line, op, "a comparison takes two terms");
      ASSIGN_OR_RETURN(Linear a, Term(e.items[1]));
      ASSIGN_OR_RETURN(Linear b, Term(e.items[2]));
      Linear atom;  // atom <= 0
      const bool less = op == "<=" || op == "<";
      atom.Add(a, less ? 1.0 : -1.0);
      atom.Add(b, less ? -1.0 : 1.0);
      RETURN_IF_ERROR(CheckAtom(atom, e.line, op));
      return Dnf{Conjunction{atom}};
    }
    return Error(e.line, op, "unsupported operator (expected and, or, <=, >=, <, >)");
  }

  absl::Status CheckAtom(const Linear& atom, int line, const std::string& op) {
    int inputs = 0, outputs = 0;
    for (const auto& [var, c] : atom.terms) {
      if (c == 0.0) continue;
      (var.first == 'X' ? inputs : outputs)++;
    }
    if (inputs > 1 || (inputs == 1 && outputs > 0)) {
      return Error(line, op, "only bounds on a single input X_i and constraints over outputs Y_j are supported");
    }
    return absl::OkStatus();
  }

  absl::StatusOr<Linear> Term(const SExpr& e) {
    Linear out;
    if (!e.is_list) {
      const std::string& s = e.atom.text;
      double value;
      char kind;
      int64_t index;
      if (VariableName(s, kind, index)) {
        const auto& declared = kind == 'X' ? inputs_ : outputs_;
        if (!declared.contains(index)) return Error(e.line, s, "variable used before its declare-const");
        out.terms[{kind, index}] = 1.0;
      } else if (ParseNumber(s, value)) {
        out.constant = value;
      } else {
        return Error(e.line, s, "expected a number or a declared X_i / Y_j");
      }
      return out;
    }
    if (e.items.empty() || e.items[0].is_list) return Error(e.line, "(", "expected an arithmetic term");
    const std::string& op = e.items[0].atom.text;
    if (e.items.size() < 2) return Error(e.line, op, "missing operands");
    std::vector<Linear> args;
    for (size_t i = 1; i < e.items.size(); ++i) {
      ASSIGN_OR_RETURN(Linear t, Term(e.items[i]));
      args.push_back(std::move(t));
    }
    if (op == "+") {
      for (const Linear& a : args) out.Add(a, 1.0);
    } else if (op == "-") {
      if (args.size() == 1) {
        out.Add(args[0], -1.0);
      } else {
        out.Add(args[0], 1.0);
        for (size_t i = 1; i < args.size(); ++i) out.Add(args[i], -1.0);
      }
    } else if (op == "*") {
      out.constant = 1.0;
      bool has_variables = false;
      for (const Linear& a : args) {
        if (a.terms.empty()) {
          out.constant *= a.constant;
          for (auto& [var, c] : out.terms) c *= a.constant;
        } else {
          if (has_variables) return Error(e.line, op, "only products with a constant are linear");
          has_variables = true;
          Linear scaled;
          scaled.Add(a, out.constant);
          out = scaled;
        }
      }
    } else {
      return Error(e.line, op, "unsupported term operator (expected +, -, *)");
    }
    return out;
  }

  absl::Status CheckContiguous(const std::map<int64_t, int>& declared, char kind) {
    int64_t expected = 0;
    for (const auto& [index, line] : declared) {
      if (index != expected) {
        return Error(line, absl::StrCat(std::string(1, kind), "_", index),
                     absl::StrCat("expected ", std::string(1, kind), "_", expected, " to be declared first"));
      }
      ++expected;
    }
    return absl::OkStatus();
  }

  absl::StatusOr<Property> Build(const Dnf& dnf) {
    if (inputs_.empty()) return Error(1, "", "no input variable X_0 is declared");
    if (outputs_.empty()) return Error(1, "", "no output variable Y_0 is declared");
    RETURN_IF_ERROR(CheckContiguous(inputs_, 'X'));
    RETURN_IF_ERROR(CheckContiguous(outputs_, 'Y'));
    Property p;
    p.num_inputs = static_cast<int64_t>(inputs_.size());
    p.num_outputs = static_cast<int64_t>(outputs_.size());
    p.first_input_line = inputs_.begin()->second;
    p.first_output_line = outputs_.begin()->second;
    for (const Conjunction& conj : dnf) {
      PropertyCase c;
      c.input_lower.assign(p.num_inputs, -INFINITY);
      c.input_upper.assign(p.num_inputs, INFINITY);
      bool feasible = true;
      for (const Linear& atom : conj) {
        std::vector<double> coefficients(p.num_outputs, 0.0);
        bool any_output = false;
        int64_t input = -1;
        double input_coefficient = 0.0;
        for (const auto& [var, coefficient] : atom.terms) {
          if (coefficient == 0.0) continue;
          if (var.first == 'Y') {
            coefficients[var.second] = coefficient;
            any_output = true;
          } else {
            input = var.second;
            input_coefficient = coefficient;
          }
        }
        if (input >= 0) {  // input_coefficient * X + constant <= 0
          const double limit = -atom.constant / input_coefficient;
          if (input_coefficient > 0) {
            c.input_upper[input] = std::min(c.input_upper[input], limit);
          } else {
            c.input_lower[input] = std::max(c.input_lower[input], limit);
          }
        } else if (any_output) {
          c.constraints.push_back({std::move(coefficients), -atom.constant});
        } else if (atom.constant > 0) {
          feasible = false;  // a false constant atom
        }
      }
      for (int64_t i = 0; i < p.num_inputs; ++i) {
        if (!std::isfinite(c.input_lower[i]) || !std::isfinite(c.input_upper[i])) {
          return Error(inputs_.at(i), absl::StrCat("X_", i),
                       "every input needs a finite lower and upper bound in every case of the property");
        }
        if (c.input_lower[i] > c.input_upper[i]) feasible = false;
      }
      if (feasible) p.cases.push_back(std::move(c));
    }
    return p;
  }

  std::map<int64_t, int> inputs_;   // index -> line
  std::map<int64_t, int> outputs_;
};

}  // namespace

double OutputConstraint::Slack(const std::vector<double>& outputs) const {
  double lhs = 0.0;
  for (size_t j = 0; j < coefficients.size(); ++j) lhs += coefficients[j] * outputs[j];
  return bound - lhs;
}

bool Property::Violates(const PropertyCase& c, const std::vector<double>& input,
                        const std::vector<double>& output) const {
  for (int64_t i = 0; i < num_inputs; ++i) {
    if (!(input[i] >= c.input_lower[i] && input[i] <= c.input_upper[i])) return false;
  }
  for (const OutputConstraint& constraint : c.constraints) {
    if (!(constraint.Slack(output) >= 0.0)) return false;
  }
  return true;
}

absl::StatusOr<Property> ParseVnnLib(std::string_view text) { return Parser().Parse(text); }

}  // namespace crucible
